import assert from "node:assert/strict";
import { test } from "node:test";
import { workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { fakeKernel, statusOf, tempStore, until } from "./helpers.ts";

/** A run of n steps, each followed by a 1 s durable sleep; returns the store rows read to resume its last step. */
async function resumeCost(
  t: Parameters<typeof tempStore>[0],
  backend: Backend,
  n: number,
  hotCacheSize: number,
): Promise<{ rowsRead: number; bodies: number }> {
  const { store } = await tempStore(t, backend);
  let bodies = 0;
  const wf = workflow(`loop-${n}`, async (ctx) => {
    for (let i = 0; i < n; i++) {
      await ctx.step(`s${i}`, () => (bodies++, i));
      await ctx.sleep(`z${i}`, 1_000);
    }
    return ctx.step("last", () => (bodies++, "end"));
  });
  const { kernel, clock } = fakeKernel(t, store, [wf], { worker: { hotCacheSize } });
  const run = await kernel.start(wf, null);
  const asleep = (i: number) =>
    until(
      async () =>
        (await kernel.journal(run.id)).length === 2 * (i + 1) && (await statusOf(kernel, run.id)) === "suspended",
      `sleep ${i}`,
    );
  for (let i = 0; i < n - 1; i++) {
    await asleep(i);
    await clock.advance(1_000);
  }
  await asleep(n - 1);
  const before = store.stats.rowsRead;
  await clock.advance(1_000);
  await until(() => bodies === n + 1, "the last step");
  const rowsRead = store.stats.rowsRead - before;
  assert.equal(await run.result(), "end");
  return { rowsRead, bodies };
}

export function hotCache(backend: Backend): void {
  test("a hot run resumes without replaying its journal: store reads stay flat as the run grows", async (t) => {
    const hot10 = await resumeCost(t, backend, 10, 100);
    const hot60 = await resumeCost(t, backend, 60, 100);
    const cold10 = await resumeCost(t, backend, 10, 0);
    const cold60 = await resumeCost(t, backend, 60, 0);
    assert.equal(
      hot10.rowsRead,
      hot60.rowsRead,
      `hot resume reads ${hot10.rowsRead} rows at n=10 and ${hot60.rowsRead} at n=60`,
    );
    assert.ok(hot60.rowsRead <= 2, `hot resume read ${hot60.rowsRead} rows`);
    assert.ok(cold60.rowsRead >= 120, `a replay reads the whole journal (${cold60.rowsRead} rows at n=60)`);
    assert.ok(cold60.rowsRead > cold10.rowsRead);
    // Whichever way it resumed, every step body ran exactly once.
    for (const [r, n] of [
      [hot10, 10],
      [hot60, 60],
      [cold10, 10],
      [cold60, 60],
    ] as const)
      assert.equal(r.bodies, n + 1);
  });

  test("a run sleeping longer than the hot window is not kept in memory", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("napper", async (ctx, ms: number) => {
      await ctx.sleep("nap", ms);
      return ms;
    });
    const { kernel, clock } = fakeKernel(t, store, [wf], { worker: { hotWindowMs: 60_000 } });
    const short = await kernel.start(wf, 30_000);
    const long = await kernel.start(wf, 3_600_000);
    await until(
      async () =>
        (await statusOf(kernel, short.id)) === "suspended" && (await statusOf(kernel, long.id)) === "suspended",
      "both asleep",
    );
    await until(() => kernel.worker?.load.active === 0, "no run held");
    assert.deepEqual(kernel.worker?.load, { active: 0, hot: 1 });
    await clock.advance(3_600_000);
    assert.equal(await long.result(), 3_600_000);
    assert.equal(await short.result(), 30_000);
  });
}
