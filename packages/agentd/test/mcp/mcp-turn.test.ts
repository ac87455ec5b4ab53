import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { approvals } from "../../src/agent/approvals.ts";
import { policies } from "../../src/agent/policy.ts";
import { hostSpawner } from "../../src/mcp/transport/spawn.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { EVERYTHING_BIN, everythingStdio } from "../support/mcp-servers.ts";
import { until } from "../support/wait.ts";

const offered = (req: { body: { tools?: { function: { name: string } }[] } }) =>
  (req.body.tools ?? []).map((t) => t.function.name);
const toolMessages = (req: { body: { messages: { role: string; content: unknown }[] } }) =>
  req.body.messages.filter((m) => m.role === "tool").map((m) => m.content as string);

for (const b of BACKENDS) {
  describe(`an MCP server in a conversation (${b.name})`, () => {
    test("the agent adds server-everything when asked (the person approves first), then calls its echo tool, approved first, its answer fenced as untrusted", async (t) => {
      // server-everything lives in this checkout's node_modules, which the sandbox does not show: a child process here.
      const { app, model, tenantId } = await testAgentd(t, b, { mcp: { spawner: hostSpawner } });
      const scope = app.tenants.scope(tenantId);
      const decideNext = async (tool: string, check = () => {}) => {
        const pending = await until(async () => (await approvals.list(scope))[0], `the approval of ${tool}`);
        assert.equal(pending.tool, tool);
        check();
        await approvals.decide(scope, pending.id, "once", "tester", Date.now(), app.kernel);
      };

      model.script(
        {
          toolCalls: [
            {
              name: "mcp_add_server",
              arguments: { name: "everything", command: process.execPath, args: [EVERYTHING_BIN, "stdio"] },
            },
          ],
        },
        { text: "Added." },
      );
      const first = await app.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c",
        text: "add the everything server",
      });
      assert.deepEqual(await app.mcp.servers.list(scope), [], "nothing is added before the person says yes");
      await decideNext("mcp_add_server");
      assert.equal((await app.kernel.result<{ text: string }>(first.runId)).text, "Added.");
      assert.deepEqual(
        (await app.mcp.servers.list(scope)).map((s) => [s.name, s.transport, s.origin]),
        [["everything", "stdio", "tenant"]],
      );

      model.script(
        { toolCalls: [{ name: "mcp__everything__echo", arguments: { message: "hello from a turn" } }] },
        {
          text: "It said hello.",
        },
      );
      const second = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "echo hello" });
      await decideNext("mcp__everything__echo", () => {
        // Asked after the model's call, so that call's request is the last one.
        const names = offered(model.requests.at(-1)!);
        assert.ok(names.includes("mcp__everything__echo") && names.includes("mcp__everything__get-sum"), names.join());
      });
      assert.equal((await app.kernel.result<{ text: string }>(second.runId)).text, "It said hello.");
      assert.deepEqual(
        toolMessages(model.requests.at(-1)!).at(-1),
        `<untrusted source="mcp__everything__echo">\nEcho: hello from a turn\n</untrusted>`,
      );
      assert.deepEqual(app.mcp.pool.stats(), new Map([[tenantId, 1]]));

      // Another tenant has none of this one's servers or tools.
      const other = await app.tenants.create("other", {});
      model.script({ text: "hi" });
      await app.kernel.result(
        (await app.inbox.receive({ tenantId: other.id, channel: "http", conversation: "c", text: "hi" })).runId,
      );
      assert.equal(
        offered(model.requests.at(-1)!).some((n) => n.startsWith("mcp__")),
        false,
      );
    });

    test("an image a tool returns is kept in the tenant's files and shown to the model as an image, its bytes never in the journal; progress of a long operation reaches the run's stream; a vault secret the server echoes never reaches the model or the journal", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b, { mcp: { spawner: hostSpawner } });
      const scope = app.tenants.scope(tenantId);
      const planted = "planted-mcp-secret-7f3a9c";
      await app.vault.put(scope, "SERVICE_KEY", planted);
      await app.mcp.servers.add(scope, everythingStdio("everything", { SERVICE_KEY: { secret: "SERVICE_KEY" } }));
      for (const tool of ["get-tiny-image", "trigger-long-running-operation", "get-env"])
        await policies.set(scope, { tool: `mcp__everything__${tool}`, decision: "allow" }, Date.now());
      model.script(
        { toolCalls: [{ name: "mcp__everything__get-tiny-image", arguments: {} }] },
        {
          toolCalls: [
            { name: "mcp__everything__trigger-long-running-operation", arguments: { duration: 0.2, steps: 2 } },
          ],
        },
        { toolCalls: [{ name: "mcp__everything__get-env", arguments: {} }] },
        { text: "A tiny image." },
      );
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "show me the image" });
      const events: unknown[] = [];
      const sub = (async () => {
        for await (const e of app.kernel.subscribe(r.runId)) events.push(e);
      })();
      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "A tiny image.");
      await sub;
      const after = model.requests[1]!.body.messages as { role: string; content: unknown }[];
      const toolText = String(after.findLast((m) => m.role === "tool")!.content);
      assert.match(toolText, /\[image image\/png, \d+ bytes: file (blob_\w+), shown\]/);
      const blobId = /file (blob_\w+)/.exec(toolText)![1]!;
      const parts = after.at(-1)!.content as { type: string; image_url?: { url: string } }[];
      const stored = (await app.blobs.get(tenantId, blobId))!.data;
      assert.equal(parts[1]!.image_url!.url, `data:image/png;base64,${Buffer.from(stored).toString("base64")}`);
      const journal = JSON.stringify(await app.kernel.journal(r.runId));
      assert.ok(journal.includes(blobId) && !journal.includes(Buffer.from(stored).toString("base64").slice(0, 40)));
      // The server had the secret (its definition named it) and printed it: redacted before the journal and the model.
      const envText = String(
        (model.requests[3]!.body.messages as { role: string; content: unknown }[]).findLast((m) => m.role === "tool")!
          .content,
      );
      assert.match(envText, /"SERVICE_KEY": "\[secret\]"/);
      assert.ok(!journal.includes(planted) && !JSON.stringify(model.requests).includes(planted));
      assert.ok(
        JSON.stringify(events).includes('"tool":"trigger-long-running-operation"') &&
          JSON.stringify(events).includes('"progress":'),
        "the operation's progress was published",
      );
    });
  });
}
