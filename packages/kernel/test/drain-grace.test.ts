import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type DrainReport, Kernel, workflow } from "../src/index.ts";
import { BACKENDS } from "./backends.ts";
import { closes, tempStore } from "./helpers.ts";

// A drain's grace: steps in flight when it begins finish and are recorded, and no step starts, so
// nothing is cut short and run again by the next drain (a paid model call made twice).
for (const backend of BACKENDS)
  describe(backend.name, () => {
    test("with a grace, drains carry a run of 150 ms steps to its end without cutting a step or running one twice", async (t) => {
      const { store } = await tempStore(t, backend);
      const bodies: number[] = [];
      const steps = workflow("steps", async (ctx, n: number) => {
        let sum = 0;
        for (let i = 0; i < n; i++)
          sum += await ctx.step(`s${i}`, async () => {
            bodies.push(i);
            await new Promise((r) => setTimeout(r, 150));
            return i;
          });
        return sum;
      });
      const kernel = closes(t, new Kernel({ store, workflows: [steps], onError: () => {} }));
      const r = await kernel.start(steps, 12);
      const reports: DrainReport[] = [];
      for (let i = 0; i < 30 && (await kernel.getRun(r.id))?.status !== "completed"; i++)
        reports.push(await kernel.drain({ budgetMs: 800, graceMs: 400 }));
      assert.equal(await kernel.result(r.id), 66);
      assert.ok(reports.length >= 3, `12 steps of 150 ms take several 800 ms drains (${reports.length})`);
      assert.deepEqual(
        bodies,
        Array.from({ length: 12 }, (_, i) => i),
        "each step ran once, in order",
      );
      assert.ok(
        reports.every((x) => x.handedBack === 0 && x.ms < 800),
        `no run cut short, every drain within its budget: ${JSON.stringify(reports)}`,
      );
      assert.ok(
        reports.slice(0, -1).every((x) => x.suspended === 1),
        "each drain but the last stopped the run between steps",
      );
    });
  });

test("a grace must be shorter than the budget", async (t) => {
  const { store } = await tempStore(t);
  const kernel = closes(t, new Kernel({ store, workflows: [] }));
  await assert.rejects(kernel.drain({ budgetMs: 500, graceMs: 500 }), /graceMs from 0 to less than budgetMs/);
  await assert.rejects(kernel.drain({ budgetMs: 500, graceMs: -1 }), /graceMs/);
});
