import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, Kernel, NonDeterminismError, RunFinishedError, workflow } from "../index.ts";
import { closes, fakeKernel, statusOf, tempStore, until } from "./helpers.ts";
import type { Backend } from "./backend.ts";

export function failures(backend: Backend): void {
  test("a run whose step exhausted its retries is failed with its journal kept; retry resumes from the last checkpoint", async (t) => {
    const { store } = await tempStore(t, backend);
    const calls = { a: 0, b: 0, c: 0 };
    let broken = true;
    const wf = workflow(
      "pipeline",
      async (ctx) => {
        const a = await ctx.step("a", () => (calls.a++, 1));
        const b = await ctx.step("b", () => {
          calls.b++;
          if (broken) throw new Error("upstream down");
          return a + 1;
        });
        return ctx.step("c", () => (calls.c++, b + 1));
      },
      { retry: { maxAttempts: 2, initialInterval: 0 } },
    );
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await assert.rejects(run.result(), /step "b" .* failed after 2 attempts: Error: upstream down/);
    const failed = await kernel.failedRuns();
    assert.deepEqual(
      failed.map((r) => r.id),
      [run.id],
    );
    assert.match(failed[0]?.error?.message ?? "", /kernel\.retry/);
    assert.deepEqual(
      (await kernel.journal(run.id)).map((e) => `${e.name}:${e.status}`),
      ["a:completed", "b:failed"],
    );
    broken = false;
    await kernel.retry(run.id);
    assert.equal(await run.result(), 3);
    assert.deepEqual(calls, { a: 1, b: 3, c: 1 }, "a ran once; b failed twice and then ran once more");
    assert.deepEqual(await kernel.failedRuns(), []);
    await assert.rejects(
      kernel.retry(run.id),
      (e: Error) => RunFinishedError.is(e) && /only failed runs/.test(e.message),
    );
  });

  test("a replay that issues a different command than the journal fails with NonDeterminismError naming both", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const clock = new FakeClock();
    const v1 = workflow("shifty", async (ctx) => {
      await ctx.step("charge", () => 1);
      await ctx.sleep("wait", "1h");
      return "v1";
    });
    const k1 = new Kernel({ store, workflows: [v1], clock, worker: { pollMs: 3_600_000 } }).startWorker();
    const run = await k1.start(v1, null);
    await until(async () => (await statusOf(k1, run.id)) === "suspended", "the sleep");
    await k1.close();
    let sideEffects = 0;
    const v2 = workflow("shifty", async (ctx) => {
      await ctx.step("refund", () => sideEffects++);
      await ctx.sleep("wait", "1h");
      return "v2";
    });
    const k2 = new Kernel({ store: await open(), workflows: [v2], clock, worker: { pollMs: 3_600_000 } }).startWorker();
    closes(t, k2);
    await clock.advance(3_600_000);
    await assert.rejects(
      k2.result(run.id),
      /diverged from its journal at command #1: the journal has step "charge" but the code now issues step "refund"/,
    );
    assert.equal(sideEffects, 0, "the diverging step never ran");
    const info = await k2.getRun(run.id);
    assert.equal(info?.error?.code, "non_determinism");
    assert.equal(new NonDeterminismError("r", 1, "a", "b").code, "non_determinism");
  });

  test("a replay whose code finishes before the journal does is a divergence too", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const clock = new FakeClock();
    const v1 = workflow("shrinks", async (ctx) => {
      await ctx.step("one", () => 1);
      await ctx.step("two", () => 2);
      await ctx.sleep("wait", "1h");
    });
    const k1 = new Kernel({ store, workflows: [v1], clock, worker: { pollMs: 3_600_000 } }).startWorker();
    const run = await k1.start(v1, null);
    await until(async () => (await statusOf(k1, run.id)) === "suspended", "the sleep");
    await k1.close();
    const v2 = workflow("shrinks", async (ctx) => ctx.step("one", () => 1));
    const k2 = new Kernel({ store: await open(), workflows: [v2], clock, worker: { pollMs: 3_600_000 } }).startWorker();
    closes(t, k2);
    await clock.advance(3_600_000);
    await assert.rejects(
      k2.result(run.id),
      /command #2: the journal has step "two" but the code now issues the end of the workflow/,
    );
  });

  test("a failed run can be retried after its code is fixed: completed steps are not run again", async (t) => {
    const { store } = await tempStore(t, backend);
    let pays = 0;
    let fixed = false;
    const wf = workflow("fixable", async (ctx) => {
      await ctx.step("pay", () => pays++);
      if (!fixed) throw new Error("bug in workflow code");
      return "shipped";
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await assert.rejects(run.result(), /bug in workflow code/);
    fixed = true;
    await kernel.retry(run.id);
    assert.equal(await run.result(), "shipped");
    assert.equal(pays, 1);
  });
}
