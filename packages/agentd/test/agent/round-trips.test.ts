import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { usageOn, usageWith } from "../../src/agent/usage.ts";
import { sessions } from "../../src/sessions/store.ts";
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
  // statement, and the run's id recorded on it (not waited for); the turn: its context in one wave (the
  // tenant, the session's reads in one statement, the tools' two); the reply with its model call's
  // usage and the tenant's webhooks (read in the reply's statement, so the delivery reads none).
  postgres: { statements: 7, commits: 3 },
  // SQLite cannot modify in a WITH, and runs the session's reads one by one (in process, no round trips).
  sqlite: { statements: 15, commits: 4 },
};

for (const b of BACKENDS) {
  describe(`a turn's round trips (${b.name})`, () => {
    test("a message in a running conversation: what receive, the turn and its reply ask of the store", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      for (let i = 0; i < 2; i++) {
        model.script({ text: `warm ${i}` });
        const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: `warm ${i}` });
        await app.kernel.result(r.runId);
      }
      model.script({ text: "the answer" });
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
