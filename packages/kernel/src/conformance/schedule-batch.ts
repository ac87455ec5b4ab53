import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { fakeKernel, tempStore, until } from "./helpers.ts";

const tick = workflow("tick", async (ctx, input: { note?: string } | null) =>
  ctx.step("work", () => ({ at: ctx.runId, note: input?.note ?? null })),
);

/** Schedules due at one instant in numbers beyond one firing batch: each fires once, and its rows line up. */
export function scheduleBatch(backend: Backend): void {
  test("ticks of more schedules than one firing batch, due at one instant, each start one run at the tick and name it", {
    timeout: 120_000,
  }, async (t) => {
    const { store } = await tempStore(t, backend);
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    const { kernel } = fakeKernel(t, store, [tick], { clock, worker: { concurrency: 2_000 } });
    const n = 1_100; // the worker fires 1,000 in a pass: two passes at each tick
    for (let i = 0; i < n; i++)
      await kernel.schedules.create({ id: `s${i}`, workflow: "tick", cron: "* * * * *", input: { note: `${i}` } });
    kernel.worker?.schedulesChanged();
    for (const m of [1, 2]) {
      const due = Date.UTC(2026, 0, 1, 0, m);
      await until(() => kernel.worker?.wakeAt === due, `the worker to arm its timer for tick ${m}`, 30_000);
      await clock.advance(due - clock.now()); // the clock stays at the tick while the worker fires them all
      await until(
        async () => (await kernel.listRuns({ status: "completed", limit: 10_000 })).length === n * m,
        `${n * m} completed runs`,
        60_000,
      );
      await clock.advance(30_000);
    }
    const runs = await kernel.listRuns({ limit: 10_000 });
    assert.equal(runs.length, 2 * n, "one run per schedule and tick, none twice");
    const byKey = new Map(runs.map((r) => [r.key, r]));
    for (const i of [0, 1, 999, 1_000, n - 1]) {
      const ticks = await kernel.schedules.ticks(`s${i}`);
      assert.deepEqual(
        ticks.map((x) => [x.status, x.firedAt - x.tickAt]),
        [
          ["started", 0],
          ["started", 0],
        ],
        `schedule s${i}: both ticks started at the tick`,
      );
      for (const x of ticks) {
        const run = byKey.get(`schedule:s${i}:${new Date(x.tickAt).toISOString()}`);
        assert.ok(run, `schedule s${i}: a run for its tick at ${x.tickAt}`);
        assert.equal(x.runId, run.id, `schedule s${i}: its tick names the run it started`);
        assert.equal((run.output as { note: string }).note, `${i}`, "each with its own schedule's input");
      }
      assert.equal((await kernel.schedules.get(`s${i}`)).lastRunId, ticks[0]?.runId, "the schedule names its last run");
    }
  });
}
