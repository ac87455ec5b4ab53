import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FatalError } from "@agentd/kernel";
import { serveApi } from "../src/api/index.ts";
import type { Config } from "../src/config.ts";
import { BACKENDS } from "./support/backends.ts";
import { testAgentd } from "./support/app.ts";

const ADMIN = "admin-test-token";

interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: any;
  text: string;
}

interface SseEvent {
  event: string;
  id: number | undefined;
  data: any;
  /** When the client received it (ms since the request). */
  at: number;
}

type Opts = Parameters<typeof testAgentd>[2];

/** An agentd served on a real socket (127.0.0.1, a free port), its test tenant and an API key for it. */
async function served(t: { after(fn: () => unknown): void }, b: (typeof BACKENDS)[number], opts: Opts = {}) {
  const ta = await testAgentd(t, b, opts);
  const server = await serveApi(ta.app, { host: "127.0.0.1", port: 0 });
  t.after(() => server.close());
  const { key } = await ta.app.tenants.createApiKey(ta.tenantId);
  const call = async (method: string, path: string, o: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const token = o.token === undefined ? key : o.token;
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...o.headers };
    let payload: string | undefined = o.raw;
    if (o.body !== undefined) {
      payload = JSON.stringify(o.body);
      headers["content-type"] = "application/json";
    }
    const res = await fetch(`${server.url}${path}`, { method, headers, ...(payload === undefined ? {} : { body: payload }) });
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("application/json")) body = JSON.parse(text);
    return { status: res.status, headers: res.headers, body, text };
  };
  /** Reads an SSE answer to its end, stamping each event with its arrival time. */
  const stream = async (method: string, path: string, o: { body?: unknown; headers?: Record<string, string>; token?: string } = {}) => {
    const started = Date.now();
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${o.token ?? key}`, accept: "text/event-stream", ...(o.body ? { "content-type": "application/json" } : {}), ...o.headers },
      ...(o.body ? { body: JSON.stringify(o.body) } : {}),
    });
    assert.equal(res.status, 200, await (res.status === 200 ? Promise.resolve("") : res.clone().text()));
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events: SseEvent[] = [];
    const dec = new TextDecoder();
    let buf = "";
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(part, { stream: true });
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev: SseEvent = { event: "message", id: undefined, data: undefined, at: Date.now() - started };
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) ev.event = line.slice(7);
          else if (line.startsWith("id: ")) ev.id = Number(line.slice(4));
          else if (line.startsWith("data: ")) ev.data = JSON.parse(line.slice(6));
        }
        if (ev.data !== undefined) events.push(ev);
      }
    }
    return events;
  };
  return { ...ta, url: server.url, key, call, stream };
}

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const b of BACKENDS) {
  describe(`HTTP API (${b.name})`, () => {
    test("health needs no token; every /v1 route does; tenant keys stay out of admin routes", async (t) => {
      const s = await served(t, b);
      const health = await s.call("GET", "/health", { token: null });
      assert.equal(health.status, 200);
      assert.equal(health.body.ok, true);
      assert.equal(health.body.store, b.name);
      assert.match(health.body.model, /stand-in/);
      assert.match(health.body.version, /^\d+\.\d+\.\d+/);

      const none = await s.call("GET", "/v1/sessions", { token: null });
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, "unauthorized");
      assert.match(none.body.error.message, /Authorization: Bearer/);
      assert.match(none.body.error.message, /POST \/v1\/tenants\/<id>\/keys/, "says how to get a key");
      const wrong = await s.call("GET", "/v1/sessions", { token: "ak_not-a-real-key" });
      assert.equal(wrong.status, 401);
      assert.ok(!wrong.text.includes("ak_not-a-real-key"), "the token is never echoed");
      assert.equal((await s.call("GET", "/v1/sessions", { token: null, headers: { authorization: "Basic abc" } })).status, 401);
      assert.equal((await s.call("GET", "/v1/sessions", { token: `${ADMIN}x` })).status, 401);

      assert.equal((await s.call("GET", "/v1/sessions")).status, 200, "a tenant key reaches its tenant routes");
      const forbidden = await s.call("GET", "/v1/tenants");
      assert.equal(forbidden.status, 403);
      assert.match(forbidden.body.error.message, /admin token/);
      assert.equal((await s.call("POST", "/v1/tenants", { body: { name: "x" } })).status, 403);
      assert.equal((await s.call("GET", "/metrics")).status, 403);
      assert.equal((await s.call("GET", "/metrics", { token: null })).status, 401);

      const needsTenant = await s.call("GET", "/v1/sessions", { token: ADMIN });
      assert.equal(needsTenant.status, 400);
      assert.match(needsTenant.body.error.message, /X-Agentd-Tenant/);
      assert.equal((await s.call("GET", "/v1/sessions", { token: ADMIN, headers: { "x-agentd-tenant": s.tenantId } })).status, 200);
      assert.equal((await s.call("GET", "/v1/sessions", { token: ADMIN, headers: { "x-agentd-tenant": "ten_nope" } })).status, 404);
      const other = await s.app.tenants.create("other");
      assert.equal((await s.call("GET", "/v1/sessions", { headers: { "x-agentd-tenant": other.id } })).status, 403, "a key acts for its own tenant only");
      assert.equal((await s.call("GET", "/v1/tenants", { token: ADMIN })).status, 200);
      const unknown = await s.call("GET", "/v1/nothing-here");
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, "not_found");
    });

    test("the operator creates a tenant, changes it, issues and revokes keys, pairs and binds identities, and deletes it", async (t) => {
      const s = await served(t, b);
      const admin = { token: ADMIN };
      const bad = await s.call("POST", "/v1/tenants", { ...admin, body: { name: "acme", settings: { runsPerMinit: 5 } } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /runsPerMinit/);
      assert.equal((await s.call("POST", "/v1/tenants", { ...admin, body: {} })).status, 400);
      const badBeat = await s.call("POST", "/v1/tenants", { ...admin, body: { name: "acme", settings: { heartbeat: "61 * * * *" } } });
      assert.equal(badBeat.status, 400);
      assert.match(badBeat.body.error.message, /61 \* \* \* \*/);
      assert.deepEqual((await s.call("GET", "/v1/tenants", admin)).body.tenants.map((x: { name: string }) => x.name), ["test"], "a refused tenant is not kept");

      const made = await s.call("POST", "/v1/tenants", { ...admin, body: { name: "acme", settings: { runsPerMinute: 5, heartbeat: "*/30 * * * *" } } });
      assert.equal(made.status, 201);
      const id: string = made.body.tenant.id;
      assert.equal(made.body.tenant.settings.runsPerMinute, 5);
      assert.match(made.body.apiKey, /^ak_/);
      assert.ok(await s.app.kernel.schedules.get(`heartbeat:${id}`), "creation syncs the heartbeat");
      const acme = made.body.apiKey as string;
      assert.equal((await s.call("GET", "/v1/sessions", { token: acme })).status, 200);

      assert.ok((await s.call("GET", "/v1/tenants", admin)).body.tenants.some((x: { id: string }) => x.id === id));
      assert.equal((await s.call("GET", `/v1/tenants/${id}`, admin)).body.name, "acme");
      assert.equal((await s.call("GET", "/v1/tenants/ten_missing", admin)).status, 404);

      const patched = await s.call("PATCH", `/v1/tenants/${id}`, { ...admin, body: { settings: { heartbeat: null, maxIterations: 3 } } });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.settings.maxIterations, 3);
      assert.equal(patched.body.settings.runsPerMinute, 5, "other settings are kept");
      await assert.rejects(s.app.kernel.schedules.get(`heartbeat:${id}`), "the heartbeat went with the setting");
      const badPatch = await s.call("PATCH", `/v1/tenants/${id}`, { ...admin, body: { settings: { maxIterations: 0 } } });
      assert.equal(badPatch.status, 400);
      assert.match(badPatch.body.error.message, /maxIterations/);
      const badCron = await s.call("PATCH", `/v1/tenants/${id}`, { ...admin, body: { settings: { heartbeat: "every now and then" } } });
      assert.equal(badCron.status, 400);
      assert.equal(badCron.body.error.code, "invalid_schedule");
      assert.equal((await s.call("GET", `/v1/tenants/${id}`, admin)).body.settings.heartbeat, null, "a refused heartbeat is not kept");

      const key2 = await s.call("POST", `/v1/tenants/${id}/keys`, admin);
      assert.equal(key2.status, 201);
      assert.equal((await s.call("GET", "/v1/usage", { token: key2.body.key })).status, 200);
      assert.equal((await s.call("DELETE", `/v1/tenants/${id}/keys/${key2.body.id}`, admin)).status, 204);
      assert.equal((await s.call("GET", "/v1/usage", { token: key2.body.key })).status, 401, "a revoked key stops working");
      assert.equal((await s.call("DELETE", `/v1/tenants/${id}/keys/${key2.body.id}`, admin)).status, 404);

      const code = await s.call("POST", `/v1/tenants/${id}/pairing-codes`, admin);
      assert.equal(code.status, 201);
      assert.match(code.body.code, /^[0-9A-Z]{8}$/);
      const paired = await s.app.inbox.fromIdentity({ channel: "telegram", externalId: "42", conversation: "42", text: `/start ${code.body.code}`, sourceKey: "u1" });
      assert.equal(paired.kind, "paired");

      const bind = await s.call("POST", `/v1/tenants/${id}/identities`, { ...admin, body: { channel: "sms", externalId: "+15550001" } });
      assert.equal(bind.status, 201);
      const ids = await s.call("GET", `/v1/tenants/${id}/identities`, admin);
      assert.deepEqual(ids.body.identities.map((i: { channel: string; externalId: string }) => `${i.channel}:${i.externalId}`).sort(), ["sms:+15550001", "telegram:42"]);
      const steal = await s.call("POST", `/v1/tenants/${s.tenantId}/identities`, { ...admin, body: { channel: "sms", externalId: "+15550001" } });
      assert.equal(steal.status, 409);
      assert.match(steal.body.error.message, /force/);
      assert.equal((await s.call("DELETE", `/v1/tenants/${id}/identities/sms/${encodeURIComponent("+15550001")}`, admin)).status, 204);
      assert.equal((await s.call("DELETE", `/v1/tenants/${id}/identities/sms/${encodeURIComponent("+15550001")}`, admin)).status, 404);

      assert.equal((await s.call("DELETE", `/v1/tenants/${id}`, admin)).status, 204);
      assert.equal((await s.call("GET", `/v1/tenants/${id}`, admin)).status, 404);
      assert.equal((await s.call("GET", "/v1/sessions", { token: acme })).status, 401, "its keys went with it");
    });

    test("a message is accepted (202), its turn answers, and the reply is in the session; metrics count it", async (t) => {
      const s = await served(t, b);
      const made = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "fresh" } });
      const key = made.body.apiKey as string;
      const posted = await s.call("POST", "/v1/messages", { token: key, body: { text: "Hello" } });
      assert.equal(posted.status, 202);
      assert.equal(posted.body.duplicate, false);
      assert.match(posted.body.runId, /./);
      const { sessionId, runId } = posted.body;
      const messages = await waitFor(async () => {
        const r = await s.call("GET", `/v1/sessions/${sessionId}/messages`, { token: key });
        return r.body.messages.length === 2 ? r.body.messages : null;
      }, "the reply");
      assert.deepEqual(messages.map((m: { role: string; content: string }) => [m.role, m.content]), [["user", "Hello"], ["assistant", "ok: Hello"]]);
      const later = await s.call("GET", `/v1/sessions/${sessionId}/messages?after=${messages[0].seq}`, { token: key });
      assert.deepEqual(later.body.messages.map((m: { role: string }) => m.role), ["assistant"]);
      const list = await s.call("GET", "/v1/sessions", { token: key });
      assert.deepEqual(list.body.sessions.map((x: { id: string; channel: string; conversation: string }) => [x.id, x.channel, x.conversation]), [[sessionId, "http", "default"]]);
      assert.equal((await s.call("GET", `/v1/sessions/${sessionId}`, { token: key })).body.id, sessionId);
      const run = await waitFor(async () => {
        const r = await s.call("GET", `/v1/runs/${runId}`, { token: key });
        return r.body.status === "completed" ? r.body : null;
      }, "the run to complete");
      assert.equal(run.workflow, "agent.turn");
      assert.equal(run.output.text, "ok: Hello");
      assert.equal(run.leaseOwner, undefined, "no lease internals");

      const usage = await s.call("GET", "/v1/usage", { token: key });
      assert.equal(usage.body.today.modelCalls, 1);
      assert.ok(usage.body.today.tokens > 0);
      const metrics = await s.call("GET", "/metrics", { token: ADMIN });
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
      assert.match(metrics.text, /^agentd_runs\{status="completed"\} [1-9]/m);
      assert.match(metrics.text, /^agentd_tenants 2$/m);
      assert.match(metrics.text, /^agentd_model_calls_today 1$/m);
      assert.match(metrics.text, /^agentd_approvals_pending 0$/m);
      assert.match(metrics.text, /^agentd_tokens_today [1-9]\d*$/m);
    });

    test("with Accept: text/event-stream the reply streams token by token and ends after done; a stream resumes from Last-Event-ID", async (t) => {
      const s = await served(t, b);
      s.model.script({ text: "Streaming is a fine way to answer.", tokenDelayMs: 20 });
      const events = await s.stream("POST", "/v1/messages", { body: { text: "stream please", conversation: "sse" } });
      assert.equal(events[0]?.event, "accepted");
      assert.equal(events[0]?.id, undefined);
      assert.equal(events[0]?.data.duplicate, false);
      const runId = events[0]?.data.runId as string;
      assert.equal(events[1]?.event, "start");
      const texts = events.filter((e) => e.event === "text");
      assert.ok(texts.length >= 5, `${texts.length} text events`);
      assert.equal(texts.map((e) => e.data.d).join(""), "Streaming is a fine way to answer.");
      for (const e of texts) assert.deepEqual(Object.keys(e.data).sort(), ["d", "t"]);
      const done = events.at(-1)!;
      assert.equal(done.event, "done");
      assert.equal(done.data.text, "Streaming is a fine way to answer.");
      assert.match(done.data.messageId, /^msg_/);
      assert.ok(done.at - texts[0]!.at >= 60, "the first token arrived well before the end");
      const offsets = events.slice(1).map((e) => e.id as number);
      assert.deepEqual(offsets, offsets.map((_, i) => offsets[0]! + i), "ids are consecutive stream offsets");

      // Resume after the third text event: only what came after it, and the stream ends after done.
      const resumeAfter = texts[2]!.id as number;
      const rest = await s.stream("GET", `/v1/runs/${runId}/stream`, { headers: { "last-event-id": String(resumeAfter) } });
      assert.equal(rest[0]?.id, resumeAfter + 1);
      assert.equal(rest.at(-1)?.event, "done");
      assert.equal(rest.filter((e) => e.event === "text").length, texts.length - 3);

      // ?stream=1 works without the Accept header too.
      const res = await fetch(`${s.url}/v1/messages?stream=1`, {
        method: "POST", headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" }, body: JSON.stringify({ text: "again", conversation: "sse" }),
      });
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      const raw = await res.text();
      assert.match(raw, /^event: accepted\ndata: \{/);
      assert.match(raw, /id: \d+\nevent: done\ndata: \{"t":"done","text":"ok: again"/);
    });

    test("a retried POST with the same id is a duplicate: same message, same run, no second turn", async (t) => {
      const s = await served(t, b);
      const first = await s.call("POST", "/v1/messages", { body: { text: "only once", id: "client-1" } });
      const again = await s.call("POST", "/v1/messages", { body: { text: "only once", id: "client-1" } });
      assert.equal(first.status, 202);
      assert.equal(again.status, 202);
      assert.equal(again.body.duplicate, true);
      assert.equal(again.body.runId, first.body.runId);
      assert.equal(again.body.messageId, first.body.messageId);
      await s.app.kernel.result(first.body.runId);
      const runs = await s.call("GET", "/v1/runs");
      assert.deepEqual(runs.body.runs.map((r: { id: string }) => r.id), [first.body.runId]);
      const msgs = await s.call("GET", `/v1/sessions/${first.body.sessionId}/messages`);
      assert.deepEqual(msgs.body.messages.map((m: { role: string }) => m.role), ["user", "assistant"]);
      assert.equal(s.model.calls, 1);
      // A duplicate streamed replays the first turn's stream.
      const events = await s.stream("POST", "/v1/messages", { body: { text: "only once", id: "client-1" } });
      assert.equal(events[0]?.data.duplicate, true);
      assert.equal(events.at(-1)?.data.text, "ok: only once");
    });

    test("another tenant's session, run and approval answer 404, exactly like missing ones", async (t) => {
      const s = await served(t, b);
      await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } });
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "mine" } }] }, { text: "Saved." });
      const posted = await s.call("POST", "/v1/messages", { body: { text: "remember mine" } });
      const approval = await waitFor(async () => (await s.call("GET", "/v1/approvals")).body.approvals[0], "the approval");
      const made = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "intruder" } });
      const other = made.body.apiKey as string;
      const probes: [string, string, unknown?][] = [
        ["GET", "/v1/sessions/ID"], ["GET", "/v1/sessions/ID/messages"], ["GET", "/v1/runs/ID"], ["GET", "/v1/runs/ID/journal"],
        ["GET", "/v1/runs/ID/stream"], ["POST", "/v1/runs/ID/retry"], ["POST", "/v1/runs/ID/cancel"], ["POST", "/v1/approvals/ID", { decision: "once" }],
      ];
      const ids: Record<string, string> = { sessions: posted.body.sessionId, runs: posted.body.runId, approvals: approval.id };
      for (const [method, path, body] of probes) {
        const kind = path.split("/")[2] as string;
        const theirs = await s.call(method, path.replace("ID", ids[kind]!), { token: other, ...(body ? { body } : {}) });
        const missing = await s.call(method, path.replace("ID", `${ids[kind]!.slice(0, 4)}missing`), { token: other, ...(body ? { body } : {}) });
        assert.equal(theirs.status, 404, `${method} ${path} of another tenant`);
        assert.equal(missing.status, 404, `${method} ${path} missing`);
        assert.equal(theirs.body.error.code, missing.body.error.code);
        assert.equal(theirs.body.error.message.replace(ids[kind]!, "X"), missing.body.error.message.replace(`${ids[kind]!.slice(0, 4)}missing`, "X"));
      }
      assert.deepEqual((await s.call("GET", "/v1/runs", { token: other })).body.runs, []);
      assert.deepEqual((await s.call("GET", "/v1/approvals", { token: other })).body.approvals, []);
      assert.equal((await s.call("GET", "/v1/approvals")).body.approvals[0].status, "pending", "the owner's approval is untouched");
      await s.call("POST", `/v1/runs/${posted.body.runId}/cancel`);
    });

    test("bad bodies are 400 with the field and the reason; nothing is stored", async (t) => {
      const s = await served(t, b);
      const cases: [string, { body?: unknown; raw?: string; headers?: Record<string, string> }, RegExp][] = [
        ["missing text", { body: { conversation: "c" } }, /text: .*expected string/i],
        ["text a number", { body: { text: 42 } }, /text: .*expected string, received number/i],
        ["blank text", { body: { text: "   " } }, /text: must not be blank/],
        ["text too long", { body: { text: "x".repeat(32_001) } }, /text: .*32000/],
        ["unknown field", { body: { text: "hi", txt: "hi" } }, /txt/],
        ["bad channel", { body: { text: "hi", channel: "Tele gram" } }, /channel: a channel is/],
        ["an array", { body: ["hi"] }, /\(body\): .*expected object/i],
        ["bad JSON", { raw: '{"text": "hi"', headers: { "content-type": "application/json" } }, /not valid JSON/],
        ["no body", {}, /body is empty/],
      ];
      for (const [what, o, reason] of cases) {
        const r = await s.call("POST", "/v1/messages", o);
        assert.equal(r.status, 400, what);
        assert.equal(r.body.error.code, "bad_request", what);
        assert.match(r.body.error.message, reason, what);
      }
      const q = await s.call("GET", "/v1/runs?limit=zero");
      assert.equal(q.status, 400);
      assert.match(q.body.error.message, /query is not valid: limit/);
      assert.equal((await s.call("GET", "/v1/runs?status=bogus")).status, 400);
      assert.deepEqual((await s.call("GET", "/v1/sessions")).body.sessions, []);
      assert.deepEqual((await s.call("GET", "/v1/runs")).body.runs, []);
    });

    test("a body over maxBodyBytes is refused with 413 and nothing is stored", async (t) => {
      const s = await served(t, b, { config: { maxBodyBytes: 4096 } });
      const r = await s.call("POST", "/v1/messages", { body: { text: "y".repeat(10_000) } });
      assert.equal(r.status, 413);
      assert.equal(r.body.error.code, "too_large");
      assert.match(r.body.error.message, /4096 bytes/);
      const secret = await s.call("PUT", "/v1/secrets/big", { body: { value: "z".repeat(10_000) } });
      assert.equal(secret.status, 413);
      assert.deepEqual((await s.call("GET", "/v1/sessions")).body.sessions, []);
      assert.deepEqual((await s.call("GET", "/v1/runs")).body.runs, []);
      assert.deepEqual((await s.call("GET", "/v1/secrets")).body.secrets, []);
      assert.equal((await s.call("POST", "/v1/messages", { body: { text: "small" } })).status, 202);
    });

    test("messages beyond runsPerMinute are 429 with Retry-After; a retried POST is not counted", async (t) => {
      const s = await served(t, b, { tenantSettings: { runsPerMinute: 2 } });
      assert.equal((await s.call("POST", "/v1/messages", { body: { text: "one", id: "a" } })).status, 202);
      assert.equal((await s.call("POST", "/v1/messages", { body: { text: "two" } })).status, 202);
      const third = await s.call("POST", "/v1/messages", { body: { text: "three" } });
      assert.equal(third.status, 429);
      assert.equal(third.body.error.code, "rate_limited");
      assert.match(third.body.error.message, /2 messages a minute \(its runsPerMinute setting\)/);
      const after = Number(third.headers.get("retry-after"));
      assert.ok(after >= 1 && after <= 60, `Retry-After ${after}`);
      const retried = await s.call("POST", "/v1/messages", { body: { text: "one", id: "a" } });
      assert.equal(retried.status, 202);
      assert.equal(retried.body.duplicate, true);
      const sessions = (await s.call("GET", "/v1/sessions")).body.sessions;
      const msgs = (await s.call("GET", `/v1/sessions/${sessions[0].id}/messages`)).body.messages;
      assert.equal(msgs.filter((m: { role: string }) => m.role === "user").length, 2, "the refused message was not stored");
    });

    test("secrets are written and listed by name; no response carries a value; a run's journal hides a planted one", async (t) => {
      const s = await served(t, b);
      const value = "sk-planted-7f3a9c2e";
      const put = await s.call("PUT", "/v1/secrets/openai_key", { body: { value } });
      assert.equal(put.status, 204);
      assert.equal(put.text, "");
      const list = await s.call("GET", "/v1/secrets");
      assert.deepEqual(list.body.secrets.map((x: { name: string }) => x.name), ["openai_key"]);
      assert.ok(!list.text.includes(value));
      const badName = await s.call("PUT", "/v1/secrets/bad%20name", { body: { value } });
      assert.equal(badName.status, 400);
      assert.ok(!badName.text.includes(value));
      const badJson = await s.call("PUT", "/v1/secrets/k", { raw: `{"value": ${value}}`, headers: { "content-type": "application/json" } });
      assert.equal(badJson.status, 400);
      assert.ok(!badJson.text.includes(value), "a parse error does not quote the body");
      const notString = await s.call("PUT", "/v1/secrets/k", { body: { value: 12345678 } });
      assert.equal(notString.status, 400);
      assert.ok(!notString.text.includes("12345678"));

      // The person pastes the secret; the model echoes it: the journal holds it, the API shows [secret].
      const posted = await s.call("POST", "/v1/messages", { body: { text: `my key is ${value}` } });
      await s.app.kernel.result(posted.body.runId);
      const raw = JSON.stringify(await s.app.kernel.journal(posted.body.runId));
      assert.ok(raw.includes(value), "the secret was planted in the journal");
      const journal = await s.call("GET", `/v1/runs/${posted.body.runId}/journal`);
      assert.equal(journal.status, 200);
      assert.ok(journal.body.journal.some((e: { name: string }) => e.name === "model:0"));
      assert.ok(!journal.text.includes(value), "the journal answer omits the secret");
      assert.match(journal.text, /\[secret\]/);
      const run = await s.call("GET", `/v1/runs/${posted.body.runId}`);
      assert.ok(!run.text.includes(value));
      const replay = await s.stream("GET", `/v1/runs/${posted.body.runId}/stream`);
      assert.equal(replay.at(-1)?.event, "done");
      assert.ok(!JSON.stringify(replay.at(-1)?.data).includes(value));

      assert.equal((await s.call("DELETE", "/v1/secrets/openai_key")).status, 204);
      assert.equal((await s.call("DELETE", "/v1/secrets/openai_key")).status, 404);
      assert.deepEqual((await s.call("GET", "/v1/secrets")).body.secrets, []);
    });

    test("approvals: a tool call under an ask policy waits; deciding through the API finishes the turn", async (t) => {
      const s = await served(t, b);
      const policy = await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } });
      assert.equal(policy.status, 200);
      assert.deepEqual([policy.body.tool, policy.body.pattern, policy.body.decision], ["remember", "", "ask"]);
      assert.equal((await s.call("PUT", "/v1/policies", { body: { tool: "remembr", decision: "ask" } })).status, 400);
      assert.equal((await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "maybe" } })).status, 400);
      const pol = await s.call("GET", "/v1/policies");
      assert.deepEqual(pol.body.policies.map((p: { tool: string; decision: string }) => [p.tool, p.decision]), [["remember", "ask"]]);
      assert.ok(pol.body.tools.some((x: { name: string; defaultDecision: string }) => x.name === "http_request" && x.defaultDecision === "ask"));

      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "the sky is teal" } }] }, { text: "Saved." });
      const events: string[] = [];
      const streaming = s.stream("POST", "/v1/messages", { body: { text: "remember the sky" } }).then((ev) => events.push(...ev.map((e) => e.event)));
      const pending = await waitFor(async () => (await s.call("GET", "/v1/approvals")).body.approvals[0], "the approval");
      assert.equal(pending.tool, "remember");
      assert.equal(pending.status, "pending");
      assert.equal(pending.subject, JSON.stringify({ content: "the sky is teal" }));
      assert.equal((await s.call("GET", "/v1/memory")).body.memories.length, 0, "nothing ran before the decision");
      const badDecision = await s.call("POST", `/v1/approvals/${pending.id}`, { body: { decision: "yes" } });
      assert.equal(badDecision.status, 400);
      assert.match(badDecision.body.error.message, /decision/);

      const decided = await s.call("POST", `/v1/approvals/${pending.id}`, { body: { decision: "once" } });
      assert.equal(decided.status, 200);
      assert.equal(decided.body.status, "approved");
      assert.equal(decided.body.decidedBy, "api");
      const again = await s.call("POST", `/v1/approvals/${pending.id}`, { body: { decision: "deny" } });
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, /already approved/);
      await streaming;
      assert.deepEqual([events[0], events.includes("approval"), events.includes("tool"), events.at(-1)], ["accepted", true, true, "done"]);
      const memories = (await s.call("GET", "/v1/memory")).body.memories;
      assert.deepEqual(memories.map((m: { content: string }) => m.content), ["the sky is teal"]);
      assert.deepEqual((await s.call("GET", "/v1/approvals")).body.approvals, []);
      assert.equal((await s.call("GET", "/v1/approvals?status=approved")).body.approvals[0].id, pending.id);
      assert.equal((await s.call("DELETE", "/v1/policies/remember")).status, 204);
      assert.equal((await s.call("DELETE", "/v1/policies/remember")).status, 404);
    });

    test("memory: add, list, search, forget", async (t) => {
      const s = await served(t, b);
      const a = await s.call("POST", "/v1/memory", { body: { content: "Ada prefers green tea" } });
      assert.equal(a.status, 201);
      assert.equal(a.body.source, "user");
      const due = await s.call("POST", "/v1/memory", { body: { content: "call the plumber", due: "2030-01-02T09:00:00Z" } });
      assert.equal(due.body.dueAt, Date.parse("2030-01-02T09:00:00Z"));
      const badDue = await s.call("POST", "/v1/memory", { body: { content: "x", due: "tomorrow" } });
      assert.equal(badDue.status, 400);
      assert.match(badDue.body.error.message, /due/);
      assert.equal((await s.call("POST", "/v1/memory", { body: { content: "" } })).status, 400);
      assert.deepEqual((await s.call("GET", "/v1/memory")).body.memories.map((m: { content: string }) => m.content), ["call the plumber", "Ada prefers green tea"]);
      const found = await s.call("GET", `/v1/memory?q=${encodeURIComponent("tea")}`);
      assert.deepEqual(found.body.memories.map((m: { id: string }) => m.id), [a.body.id]);
      assert.equal((await s.call("DELETE", `/v1/memory/${a.body.id}`)).status, 204);
      assert.equal((await s.call("DELETE", `/v1/memory/${a.body.id}`)).status, 404);
      assert.deepEqual((await s.call("GET", "/v1/memory?q=tea")).body.memories, []);
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      assert.equal((await s.call("DELETE", `/v1/memory/${due.body.id}`, { token: other.body.apiKey })).status, 404);
      assert.deepEqual((await s.call("GET", "/v1/memory", { token: other.body.apiKey })).body.memories, []);
    });

    test("schedules: recurring and one-off jobs are created, listed with their next fire times, and deleted", async (t) => {
      const s = await served(t, b, { tenantSettings: { timezone: "Europe/Paris" } });
      const cron = await s.call("POST", "/v1/schedules", { body: { prompt: "morning brief", cron: "0 9 * * *" } });
      assert.equal(cron.status, 201);
      assert.equal(cron.body.kind, "recurring");
      assert.equal(cron.body.timezone, "Europe/Paris", "the tenant's zone by default");
      assert.ok(cron.body.next.length > 0 && cron.body.next[0] > Date.now());
      const at = new Date(Date.now() + 3 * 24 * 3600_000).toISOString();
      const once = await s.call("POST", "/v1/schedules", { body: { prompt: "renew passport", at } });
      assert.equal(once.status, 201);
      assert.equal(once.body.at, Date.parse(at));

      const bad: [unknown, RegExp][] = [
        [{ prompt: "x", cron: "0 9 * * *", at }, /either "cron".*or "at"/],
        [{ prompt: "x" }, /either "cron"/],
        [{ prompt: "x", cron: "not a cron" }, /cron|schedule/i],
        [{ prompt: "x", cron: "0 9 * * *", timezone: "Mars/Olympus" }, /Mars\/Olympus|time ?zone/i],
        [{ prompt: "x", at: "2020-01-01T00:00:00Z" }, /in the past/],
        [{ prompt: "x", at: "next week" }, /at: /],
        [{ prompt: "x", at, sessionId: "ses_nope" }, /session ses_nope not found/],
      ];
      for (const [body, reason] of bad) {
        const r = await s.call("POST", "/v1/schedules", { body });
        assert.equal(r.status, body && (body as { sessionId?: string }).sessionId ? 404 : 400, JSON.stringify(body));
        assert.match(r.body.error.message, reason, JSON.stringify(body));
      }

      const list = await s.call("GET", "/v1/schedules");
      assert.deepEqual(list.body.schedules.map((x: { id: string; kind: string }) => [x.id, x.kind]), [[cron.body.id, "recurring"], [once.body.id, "reminder"]]);
      const rec = list.body.schedules[0];
      assert.equal(rec.cron, "0 9 * * *");
      assert.ok(rec.next.length >= 1 && new Date(rec.next[0]).getUTCMinutes() === 0);
      assert.deepEqual(list.body.schedules[1].next, [Date.parse(at)]);

      assert.equal((await s.call("DELETE", `/v1/schedules/${cron.body.id}`)).status, 204);
      await assert.rejects(s.app.kernel.schedules.get(`job:${cron.body.id}`), "the kernel schedule is gone");
      assert.equal((await s.call("DELETE", `/v1/schedules/${cron.body.id}`)).status, 404);
      assert.deepEqual((await s.call("GET", "/v1/schedules")).body.schedules.map((x: { id: string }) => x.id), [once.body.id]);
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      assert.equal((await s.call("DELETE", `/v1/schedules/${once.body.id}`, { token: other.body.apiKey })).status, 404);
      assert.equal((await s.call("DELETE", `/v1/schedules/${once.body.id}`)).status, 204);
    });

    test("runs: list by status, cancel one that waits, retry one that failed", async (t) => {
      const s = await served(t, b);
      const done = await s.call("POST", "/v1/messages", { body: { text: "first", conversation: "a" } });
      await s.app.kernel.result(done.body.runId);

      // A turn waiting for an approval is cancelled.
      await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } });
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "z" } }] });
      const waiting = await s.call("POST", "/v1/messages", { body: { text: "remember z", conversation: "b" } });
      await waitFor(async () => (await s.call("GET", `/v1/runs/${waiting.body.runId}`)).body.status === "suspended", "the run to wait");
      const suspended = await s.call("GET", "/v1/runs?status=suspended");
      assert.deepEqual(suspended.body.runs.map((r: { id: string }) => r.id), [waiting.body.runId]);
      const cancelled = await s.call("POST", `/v1/runs/${waiting.body.runId}/cancel`);
      assert.equal(cancelled.status, 200);
      assert.deepEqual(cancelled.body.cancelled, [waiting.body.runId]);
      assert.equal((await s.call("GET", `/v1/runs/${waiting.body.runId}`)).body.status, "cancelled");
      const twice = await s.call("POST", `/v1/runs/${waiting.body.runId}/cancel`);
      assert.equal(twice.status, 409);
      assert.equal(twice.body.error.code, "run_finished");

      // A turn whose delivery fails for good fails; once the channel works, a retry finishes it.
      let broken = true;
      s.app.channels.register({
        channel: "flaky",
        async deliver() {
          if (broken) throw new FatalError("the flaky channel is down");
        },
      });
      const refused = await s.call("POST", "/v1/messages", { body: { text: "hi", channel: "flaky" } });
      assert.equal(refused.status, 400, "a channel with an adapter is not the API's to post into");
      const r = await s.app.inbox.receive({ tenantId: s.tenantId, channel: "flaky", conversation: "c", text: "hello flaky" });
      await waitFor(async () => (await s.call("GET", `/v1/runs/${r.runId}`)).body.status === "failed", "the run to fail");
      const failed = await s.call("GET", "/v1/runs?status=failed");
      assert.deepEqual(failed.body.runs.map((x: { id: string }) => x.id), [r.runId]);
      assert.match(failed.body.runs[0].error.message, /flaky channel is down/);
      const retryDone = await s.call("POST", `/v1/runs/${done.body.runId}/retry`);
      assert.equal(retryDone.status, 409, "only failed runs can be retried");
      assert.match(retryDone.body.error.message, /only failed runs/);
      broken = false;
      const retried = await s.call("POST", `/v1/runs/${r.runId}/retry`);
      assert.equal(retried.status, 202);
      await waitFor(async () => (await s.call("GET", `/v1/runs/${r.runId}`)).body.status === "completed", "the retried run to complete");
      const all = await s.call("GET", "/v1/runs?limit=10");
      assert.equal(all.body.runs.length, 3);
      const two = await s.call("GET", "/v1/runs?status=completed,cancelled");
      assert.equal(two.body.runs.length, 3);
      const page = await s.call("GET", "/v1/runs?limit=1");
      assert.equal(page.body.runs.length, 1);
    });
  });
}
