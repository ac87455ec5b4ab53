import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, test } from "node:test";
import { Client, StreamableHTTPClientTransport, type CallToolResult } from "@modelcontextprotocol/client";
import { ADMIN, served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";

/** The official MCP client connected to agentd's /mcp with a token (and the tenant header, for the admin). */
async function mcpClient(
  t: { after(fn: () => unknown): void },
  url: string,
  token: string,
  tenant?: string,
  era: "legacy" | "auto" = "legacy",
) {
  // The SDK's default is the 2025 handshake (served statelessly); "auto" negotiates the 2026-07-28 revision.
  const client = new Client({ name: "agentd-test", version: "1.0.0" }, { versionNegotiation: { mode: era } });
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (tenant) headers["x-agentd-tenant"] = tenant;
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }));
  t.after(() => client.close());
  return client;
}

const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");

/** A raw POST to /mcp with the headers given (node:http, so Host can be set as a browser would). */
function rawPost(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(`${url}/mcp`);
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "content-length": Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

for (const b of BACKENDS) {
  describe(`agentd as an MCP server (${b.name})`, () => {
    test("the official client lists the tools and talks to the agent: the reply streams as progress notifications; runs, memory and schedules read back", async (t) => {
      const s = await served(t, b);
      const client = await mcpClient(t, s.url, s.key);
      assert.equal(client.getProtocolEra(), "legacy", "the 2025 handshake, served statelessly");
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((x) => x.name).sort(), [
        "decide_approval",
        "get_run",
        "list_approvals",
        "list_runs",
        "list_schedules",
        "search_memory",
        "send_message",
      ]);
      assert.equal(tools.find((x) => x.name === "list_runs")?.annotations?.readOnlyHint, true);

      const reply = "Streaming through MCP works, token by token.";
      s.model.script({ text: reply, tokenDelayMs: 10 });
      const progress: string[] = [];
      const sent = (await client.callTool(
        { name: "send_message", arguments: { text: "hello over MCP", conversation: "desk" } },
        { onprogress: (p) => progress.push(p.message ?? "") },
      )) as CallToolResult;
      assert.equal(sent.isError, undefined, textOf(sent));
      assert.ok(progress.length >= 3, `${progress.length} progress notifications`);
      assert.equal(progress.join(""), reply, "the progress notifications carry the reply as it streams");
      const said = textOf(sent);
      assert.ok(said.startsWith(reply), said);
      const runId = /\(run (\S+), session (\S+)\)/.exec(said)?.[1] as string;
      assert.ok(runId, said);

      // The message landed in a session of its own channel, as any message of the tenant's.
      const sessions = (await s.call("GET", "/v1/sessions")).body.sessions;
      assert.deepEqual(
        sessions.map((x: { channel: string; conversation: string }) => [x.channel, x.conversation]),
        [["mcp", "desk"]],
      );

      // The reply streams before the turn's last steps (history, outbox) end: the run completes just after.
      const listed = await waitFor(async () => {
        const runs = JSON.parse(
          textOf((await client.callTool({ name: "list_runs", arguments: {} })) as CallToolResult),
        );
        const r = runs.runs.find((x: { id: string }) => x.id === runId);
        return r?.status === "completed" && r;
      }, "the turn's run to complete, as list_runs shows it");
      assert.match(listed.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, "times in ISO 8601 UTC");
      const run = JSON.parse(
        textOf((await client.callTool({ name: "get_run", arguments: { id: runId, journal: true } })) as CallToolResult),
      );
      assert.equal(run.output.text, reply);
      assert.ok(run.journal.length > 0);
      const filtered = JSON.parse(
        textOf((await client.callTool({ name: "list_runs", arguments: { status: ["failed"] } })) as CallToolResult),
      );
      assert.deepEqual(filtered.runs, []);

      assert.equal(
        (await s.call("POST", "/v1/memory", { body: { content: "the sky over the harbour is teal" } })).status,
        201,
      );
      const found = JSON.parse(
        textOf(
          (await client.callTool({ name: "search_memory", arguments: { query: "harbour sky" } })) as CallToolResult,
        ),
      );
      assert.deepEqual(
        found.memories.map((m: { content: string }) => m.content),
        ["the sky over the harbour is teal"],
      );

      const made = await s.call("POST", "/v1/schedules", {
        body: { prompt: "water the plants", cron: "0 9 * * *", timezone: "Europe/Paris" },
      });
      assert.equal(made.status, 201);
      const listedSchedules = JSON.parse(
        textOf((await client.callTool({ name: "list_schedules", arguments: {} })) as CallToolResult),
      );
      const sched = listedSchedules.schedules[0];
      assert.deepEqual(
        [sched.prompt, sched.cron, sched.timezone, sched.paused],
        ["water the plants", "0 9 * * *", "Europe/Paris", false],
      );
      assert.match(sched.next[0], /^\d{4}-\d\d-\d\dT0[78]:00:00\.000Z$/, "09:00 in Paris, in UTC");

      const bad = (await client.callTool({ name: "get_run", arguments: { id: "no-such-run" } })) as CallToolResult;
      assert.equal(bad.isError, true);
      assert.match(textOf(bad), /run no-such-run not found.*HTTP 404, not_found/);
    });

    test("a client negotiating the 2026-07-28 revision gets the reply streamed as progress notifications too", async (t) => {
      const s = await served(t, b);
      const client = await mcpClient(t, s.url, s.key, undefined, "auto");
      assert.deepEqual([client.getProtocolEra(), client.getNegotiatedProtocolVersion()], ["modern", "2026-07-28"]);
      const reply = "The newer protocol streams as well.";
      s.model.script({ text: reply, tokenDelayMs: 10 });
      const progress: string[] = [];
      const sent = (await client.callTool(
        { name: "send_message", arguments: { text: "hello, modern" } },
        { onprogress: (p) => progress.push(p.message ?? "") },
      )) as CallToolResult;
      assert.ok(textOf(sent).startsWith(reply), textOf(sent));
      assert.ok(progress.length >= 3, `${progress.length} progress notifications`);
      assert.equal(progress.join(""), reply);
    });

    test("approvals: send_message stops at the approval and says how to decide; decide_approval answers with the rest of the reply", async (t) => {
      const s = await served(t, b);
      assert.equal((await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } })).status, 200);
      const client = await mcpClient(t, s.url, s.key);
      s.model.script(
        { text: "Let me keep that. ", toolCalls: [{ name: "remember", arguments: { content: "the sky is teal" } }] },
        { text: "Saved it." },
      );
      const asked = (await client.callTool({
        name: "send_message",
        arguments: { text: "remember that the sky is teal" },
      })) as CallToolResult;
      const said = textOf(asked);
      const id = /decide_approval, id "(apr_\w+)"/.exec(said)?.[1] as string;
      assert.ok(id, said);
      assert.match(said, /approve a call of remember: \{"content":"the sky is teal"\}/);
      assert.equal((await s.call("GET", "/v1/memory")).body.memories.length, 0, "nothing ran before the decision");
      const pending = JSON.parse(
        textOf((await client.callTool({ name: "list_approvals", arguments: {} })) as CallToolResult),
      );
      assert.deepEqual(
        pending.approvals.map((a: { id: string; tool: string }) => [a.id, a.tool]),
        [[id, "remember"]],
      );

      const progress: string[] = [];
      const decided = (await client.callTool(
        { name: "decide_approval", arguments: { id, decision: "once" } },
        { onprogress: (p) => progress.push(p.message ?? "") },
      )) as CallToolResult;
      assert.equal(decided.isError, undefined, textOf(decided));
      assert.match(textOf(decided), /^Saved it\./);
      assert.ok(!progress.join("").includes("Let me keep that"), "what came before the approval is not shown again");
      assert.deepEqual(
        (await s.call("GET", "/v1/memory")).body.memories.map((m: { content: string }) => m.content),
        ["the sky is teal"],
      );
      const again = (await client.callTool({
        name: "decide_approval",
        arguments: { id, decision: "deny" },
      })) as CallToolResult;
      assert.equal(again.isError, true);
      assert.match(textOf(again), /already approved.*HTTP 409/);
    });

    test("a tenant's key sees its own tenant only; the admin token acts for the tenant it names; no token or a wrong one is a 401 with a Bearer challenge", async (t) => {
      const s = await served(t, b);
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      s.model.script({ text: "mine" });
      const mine = await s.call("POST", "/v1/messages", { body: { text: "hi" } });
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${mine.body.runId}`)).body.status === "completed",
        "the turn",
      );

      const theirs = await mcpClient(t, s.url, other.body.apiKey as string);
      const hidden = (await theirs.callTool({ name: "get_run", arguments: { id: mine.body.runId } })) as CallToolResult;
      assert.equal(hidden.isError, true);
      assert.match(textOf(hidden), /not found/);
      const theirRuns = JSON.parse(
        textOf((await theirs.callTool({ name: "list_runs", arguments: {} })) as CallToolResult),
      );
      assert.deepEqual(theirRuns.runs, []);

      const admin = await mcpClient(t, s.url, ADMIN, s.tenantId);
      const seen = JSON.parse(
        textOf((await admin.callTool({ name: "get_run", arguments: { id: mine.body.runId } })) as CallToolResult),
      );
      assert.equal(seen.output.text, "mine");

      const host = new URL(s.url).host;
      const none = await rawPost(s.url, { host });
      assert.equal(none.status, 401);
      assert.match(String(none.headers["www-authenticate"]), /^Bearer /);
      assert.match(JSON.parse(none.body).error.message, /Authorization: Bearer <a tenant API key>/);
      const adminAlone = await rawPost(s.url, { host, authorization: `Bearer ${ADMIN}` });
      assert.equal(adminAlone.status, 400);
      assert.match(JSON.parse(adminAlone.body).error.message, /X-Agentd-Tenant/);
      const wrong = await rawPost(s.url, { host, authorization: "Bearer not-a-key" });
      assert.equal(wrong.status, 401);
      assert.match(String(wrong.headers["www-authenticate"]), /^Bearer /);
    });

    test("DNS-rebinding protection: a Host or Origin of another site is refused (403, saying what to do) before the token is looked at", async (t) => {
      const s = await served(t, b);
      const port = new URL(s.url).port;
      const auth = { authorization: `Bearer ${s.key}` };
      const rebound = await rawPost(s.url, { ...auth, host: `evil.example:${port}` });
      assert.equal(rebound.status, 403);
      assert.match(JSON.parse(rebound.body).error.message, /^Invalid Host: evil\.example: .*AGENTD_PUBLIC_URL/);
      const foreign = await rawPost(s.url, { ...auth, host: `127.0.0.1:${port}`, origin: "https://evil.example" });
      assert.equal(foreign.status, 403);
      assert.match(JSON.parse(foreign.body).error.message, /^Invalid Origin: evil\.example/);
      // Before the token: a page of another site learns nothing, not even whether a token is right.
      const unauthenticated = await rawPost(s.url, { host: `evil.example:${port}` });
      assert.equal(unauthenticated.status, 403);
      const local = await rawPost(s.url, { ...auth, host: `localhost:${port}`, origin: `http://localhost:${port}` });
      // A 2025-era request (no per-request envelope) is answered too, statelessly: the tools are listed.
      assert.equal(local.status, 200, local.body);
      assert.match(local.body, /"send_message"/);
    });
  });
}
