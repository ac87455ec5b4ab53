import assert from "node:assert/strict";
import { test } from "node:test";
import { workflow } from "../index.ts";
import { fakeKernel, tempStore } from "./helpers.ts";
import type { Backend } from "./backend.ts";

export function groupCommit(backend: Backend): void {
  test("concurrent runs share commits: far fewer transactions than step records", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("ten", async (ctx, n: number) => {
      let acc = n;
      for (let i = 0; i < 10; i++) acc = await ctx.step(`s${i}`, () => acc + 1);
      return acc;
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    const before = store.stats.commits;
    const runs = await Promise.all(Array.from({ length: 200 }, (_, i) => kernel.start(wf, i)));
    const results = await Promise.all(runs.map((r) => r.result()));
    assert.deepEqual(
      results,
      runs.map((_, i) => i + 10),
    );
    const commits = store.stats.commits - before;
    const records = 200 * 10;
    assert.ok(commits < records / 10, `${commits} commits for ${records} step records`);
    for (const r of runs.slice(0, 5))
      assert.equal((await kernel.journal(r.id)).filter((e) => e.status === "completed").length, 10);
  });
}
