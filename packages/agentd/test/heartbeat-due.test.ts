import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock } from "@agentd/kernel";
import type { Db } from "../src/db/index.ts";
import { DueCheck } from "../src/jobs/due-check.ts";
import { JOB_WORKFLOWS } from "../src/jobs/workflows.ts";
import { BACKENDS } from "./support/backends.ts";
import { testAgentd } from "./support/app.ts";
import { until } from "./support/wait.ts";

const MINUTE = 60_000;

/** The app's store, counting the statements sent through it and keeping their texts. */
function counted(db: Db): { db: Db; statements: () => number; texts: Set<string> } {
  let n = 0;
  const texts = new Set<string>();
  const all: Db["all"] = (sql, params) => (n++, texts.add(sql), db.all(sql, params));
  return { db: { ...db, dialect: db.dialect, all } as Db, statements: () => n, texts };
}

for (const b of BACKENDS) {
  describe(`the heartbeats' shared due check (${b.name})`, () => {
    test("many tenants asking at once share one statement; each hears only of its own notes, and only those due", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 10, 23, 8, 0));
      const { app, tenantId } = await testAgentd(t, b, { clock, worker: false });
      const others = [];
      for (let i = 0; i < 4; i++) others.push((await app.tenants.create(`other-${i}`)).id);
      const [later, done, _none, due] = others as [string, string, string, string];
      await app.memory.add(app.tenants.scope(due), { content: "Water the plants", dueAt: clock.now() - MINUTE });
      await app.memory.add(app.tenants.scope(later), { content: "Book the dentist", dueAt: clock.now() + MINUTE });
      const finished = await app.memory.add(app.tenants.scope(done), { content: "Pay the bill", dueAt: clock.now() });
      await app.memory.markDone(app.tenants.scope(done), [finished.id], clock.now());
      const { db, statements } = counted(app.db);
      const check = new DueCheck(db, () => clock.now());
      const asked = [tenantId, ...others, due];
      const answers = await Promise.all(asked.map((id) => check.has(id)));
      assert.deepEqual(answers, [false, false, false, false, true, true]);
      assert.equal(statements(), 1, "one statement for six questions asked in one turn");
      // The time is read when the statement is sent: a note that came due meanwhile is seen.
      await clock.advance(2 * MINUTE);
      assert.equal(await check.has(later), true);
      assert.equal(statements(), 2);
    });

    test("1,200 tenants asking at once: every answer right, in statements of at most 500", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 10, 23, 8, 0));
      const { app, tenantId } = await testAgentd(t, b, { clock, worker: false });
      await app.memory.add(app.tenants.scope(tenantId), { content: "Stretch", dueAt: clock.now() });
      const { db, statements } = counted(app.db);
      const check = new DueCheck(db, () => clock.now());
      // Tenants that do not exist have nothing due: the check needs no row of theirs.
      const ids = Array.from({ length: 1_199 }, (_, i) => `ten_absent_${i}`);
      ids.splice(700, 0, tenantId);
      const answers = await Promise.all(ids.map((id) => check.has(id)));
      assert.deepEqual(
        answers.flatMap((a, i) => (a ? [i] : [])),
        [700],
      );
      assert.equal(statements(), 3);
    });

    test("any number of tenants asking at once: one statement text, so the store prepares and keeps one", async (t) => {
      // SQLite's statements are prepared once per text and kept (SqliteDb): a text per count of tenants
      // held some 250 bytes a tenant for each count met, 30 MB for the counts 1 to 500.
      const clock = new FakeClock(Date.UTC(2026, 10, 23, 8, 0));
      const { app, tenantId } = await testAgentd(t, b, { clock, worker: false });
      await app.memory.add(app.tenants.scope(tenantId), { content: "Stretch", dueAt: clock.now() });
      const { db, statements, texts } = counted(app.db);
      const check = new DueCheck(db, () => clock.now());
      for (let n = 1; n <= 40; n++) {
        const ids = [tenantId, ...Array.from({ length: n - 1 }, (_, i) => `ten_absent_${i}`)];
        const answers = await Promise.all(ids.map((id) => check.has(id)));
        assert.deepEqual(
          answers.flatMap((a, i) => (a ? [i] : [])),
          [0],
        );
      }
      assert.equal(statements(), 40);
      assert.equal(texts.size, 1, [...texts].join("\n"));
    });

    test("heartbeats of several tenants: the tenant with a note due gets one turn; the others no model call", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 10, 23, 8, 0));
      const { app, model, tenantId } = await testAgentd(t, b, { clock });
      const ids = [tenantId];
      for (let i = 0; i < 3; i++) ids.push((await app.tenants.create(`beat-${i}`)).id);
      for (const id of ids) {
        const tenant = await app.tenants.update(id, { settings: { heartbeat: "*/5 * * * *" } });
        await app.jobs.syncHeartbeat(id, tenant.settings);
      }
      const scope = app.tenants.scope(ids[2] as string);
      await app.memory.add(scope, { content: "Renew the passport", dueAt: clock.now() + MINUTE });
      model.script({ text: "Your passport needs renewing." });
      const beats = async () =>
        (await app.kernel.listRuns({ workflow: JOB_WORKFLOWS.heartbeat })).filter((r) => r.status === "completed");
      await clock.advance(5 * MINUTE);
      await until(async () => (await beats()).length === 4);
      const outputs = new Map((await beats()).map((r) => [r.namespace, r.output as { due: number; runId?: string }]));
      assert.deepEqual(
        ids.map((id) => outputs.get(id)?.due),
        [0, 0, 1, 0],
      );
      await app.kernel.result(outputs.get(ids[2] as string)?.runId as string);
      assert.equal(model.calls, 1);
      assert.match(model.requests[0]!.body.messages.at(-1).content, /Renew the passport/);
      assert.deepEqual(await app.memory.due(scope, clock.now()), [], "a reported note is done");
      await clock.advance(5 * MINUTE);
      await until(async () => (await beats()).length === 8);
      assert.equal(model.calls, 1, "reported once");
    });
  });
}
