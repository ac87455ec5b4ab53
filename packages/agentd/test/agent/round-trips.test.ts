import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { usageOn, usageWith } from "../../src/agent/usage.ts";
import { sessions } from "../../src/sessions/store.ts";
import { served } from "../support/api.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";

/**
 * What one ordinary turn asks of agentd's own store (`app.db`): on Postgres every statement is a round
 * trip and every commit a disk flush, so these counts are the turn's floor whatever the machine's load.
 * A change that adds a statement to the hot path fails here and says so. The kernel's counts (its
 * commits vary with how the stream's chunks group) are reported beside them.
 */
const BUDGET = {
  // receive: the session found or made and the message (inserted, session touched, returned) in one
  // statement, and the run's id recorded on it (not waited for); the turn: its context in one statement
  // (the tenant, the session's reads, and what the tool sources read first: the tenant's MCP servers and
  // whether it has a Composio key; it was 3 with those two); the reply with its model call's usage and
  // the tenant's webhooks (read in the reply's statement, so the delivery reads none).
  postgres: { statements: 4, commits: 3 },
  // SQLite cannot modify in a WITH, and runs the session's reads one by one (in process, no round trips).
  sqlite: { statements: 15, commits: 4 },
};

/**
 * What POST /v1/messages asks of the store before it answers (the first token waits for all of it): the
 * key (on Postgres only the first time a process sees it: tenancy/key-cache.ts); on Postgres the quota admission and receive in one statement (a function that locks the tenant,
 * reads its limits from its settings and counts, then the message stored only if admitted); the run's
 * id recorded with the admission bound to it in one statement; a stream also reads the tenant's
 * secrets for its redactor, at the same time as the rest. (It was 9 and 10: the key, the tenant, the
 * admission's transaction of 5, receive, the bind; the redactor's read after them.)
 */
const API_BUDGET = {
  postgres: { json: 2, stream: 3 },
  // SQLite: the admission's steps one by one in its transaction, and the bind beside the run's id.
  sqlite: { json: 13, stream: 14 },
};

for (const b of BACKENDS) {
  describe(`a turn's round trips (${b.name})`, () => {
    test("POST /v1/messages: what the API asks of the store before it answers, as JSON and as a stream", async (t) => {
      // No worker: the turn is stored and started, never run, so every statement counted is the API's.
      const s = await served(t, b, { worker: false });
      const post = (stream: boolean, text: string, signal?: AbortSignal) =>
        fetch(`${s.url}/v1/messages`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${s.key}`,
            "content-type": "application/json",
            ...(stream ? { accept: "text/event-stream" } : {}),
          },
          body: JSON.stringify({ text, conversation: "c" }),
          ...(signal ? { signal } : {}),
        });
      // The key is read once, when this process listens for revocations (Postgres), then kept.
      assert.equal(await s.app.tenants.keysKept(), b.name === "postgres");
      for (let i = 0; i < 2; i++) assert.equal((await post(false, `warm ${i}`)).status, 202);
      const count = async (stream: boolean) => {
        const abort = new AbortController();
        const before = s.app.db.stats.statements;
        const res = await post(stream, `stream ${stream}`, abort.signal);
        const n = s.app.db.stats.statements - before;
        assert.equal(res.status, stream ? 200 : 202);
        abort.abort();
        await res.body?.cancel().catch(() => {});
        return n;
      };
      const json = await count(false);
      const stream = await count(true);
      t.diagnostic(JSON.stringify({ json, stream }));
      assert.ok(json <= API_BUDGET[b.name].json, `${json} statements before a JSON answer`);
      assert.ok(stream <= API_BUDGET[b.name].stream, `${stream} statements before a stream's headers`);
      // The admissions are bound to their runs by the time each answer came.
      const unbound = await s.app.tenants
        .scope(s.tenantId)
        .all("SELECT id FROM os_admissions WHERE tenant_id = $tenant AND run_id IS NULL");
      assert.equal(unbound.length, 0);
    });

    test("a message in a running conversation: what receive, the turn and its reply ask of the store", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      for (let i = 0; i < 2; i++) {
        model.script({ text: `warm ${i}` });
        const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: `warm ${i}` });
        await app.kernel.result(r.runId);
      }
      model.script({ text: "the answer" });
      // The kernel's writes, to see that the context step wrote no attempt marker before its reads.
      const markers: string[] = [];
      const commit = app.store.commit.bind(app.store);
      app.store.commit = (groups, now) => {
        for (const g of groups)
          for (const w of g.ops) if (w.op === "putEntry" && w.entry.status === "running") markers.push(w.entry.name);
        return commit(groups, now);
      };
      const os0 = { ...app.db.stats };
      const k0 = { ...app.store.stats };
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "the question" });
      const out = await app.kernel.result<{ text: string }>(r.runId);
      const os = {
        statements: app.db.stats.statements - os0.statements,
        commits: app.db.stats.commits - os0.commits,
      };
      const kernel = { commits: app.store.stats.commits - k0.commits, reads: app.store.stats.reads - k0.reads };
      t.diagnostic(JSON.stringify({ os, kernel }));
      assert.equal(out.text, "the answer");
      // The context step only reads: unmarked, it reads while the run's insert commits (one commit before it, not two).
      assert.ok(!markers.includes("context"), `attempt markers: ${markers.join(", ")}`);
      assert.ok(markers.includes("model:0"));
      assert.ok(os.statements <= BUDGET[b.name].statements, `${os.statements} statements: ${JSON.stringify(os)}`);
      assert.ok(os.commits <= BUDGET[b.name].commits, `${os.commits} commits: ${JSON.stringify(os)}`);
      // Every model call counted once, the last one with its reply.
      const used = await usageOn(app.tenants.scope(tenantId), Date.now());
      assert.equal(used.modelCalls, 3);
    });

    test("a reply appended again (a replayed step) counts its model call's usage once", async (t) => {
      const { app, tenantId } = await testAgentd(t, b);
      const scope = app.tenants.scope(tenantId);
      const now = Date.now();
      const session = await sessions.open(scope, "http", "c", now);
      const reply = { sessionId: session.id, role: "assistant" as const, content: "hi", sourceKey: "reply:run_1" };
      const first = await sessions.append(scope, reply, now, usageWith(42, now));
      const again = await sessions.append(scope, reply, now + 1, usageWith(42, now + 1));
      assert.equal(first.duplicate, false);
      assert.equal(again.duplicate, true);
      assert.equal(again.message.id, first.message.id);
      assert.deepEqual(await usageOn(scope, now), { tokens: 42, modelCalls: 1 });
      // A message without a source key is never a duplicate, and counts each time.
      const plain = { ...reply, sourceKey: null };
      await sessions.append(scope, plain, now, usageWith(8, now));
      await sessions.append(scope, plain, now, usageWith(8, now));
      assert.deepEqual(await usageOn(scope, now), { tokens: 58, modelCalls: 3 });
      assert.equal((await sessions.history(scope, session.id)).length, 3);
      assert.ok((await sessions.get(scope, session.id))!.updatedAt >= now);
    });
  });
}
