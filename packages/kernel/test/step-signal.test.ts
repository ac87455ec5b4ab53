import assert from "node:assert/strict";
import { test } from "node:test";
import { workflow } from "../src/index.ts";
import { fakeKernel, gate, tempStore, until } from "../src/conformance/helpers.ts";
import { sqlite } from "./backends.ts";

/**
 * A step attempt's AbortController is made only when its body reads `ctx.signal`: most bodies never
 * do, and the controller with its abort listener was about 2.5 % of a trivial step's CPU on SQLite.
 * The attempt still ends at its abort (a timeout, the run's end) whether or not the body looked.
 */

/** Counts the AbortControllers made while `fn` runs. */
async function countingControllers<T>(fn: () => Promise<T>): Promise<{ value: T; made: number }> {
  const Original = globalThis.AbortController;
  let made = 0;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      made++;
    }
  };
  try {
    return { value: await fn(), made };
  } finally {
    globalThis.AbortController = Original;
  }
}

test("a step body that never reads ctx.signal makes no AbortController; one that reads it gets a live signal", async (t) => {
  const { store } = await tempStore(t, sqlite);
  let live = false;
  const wf = workflow("signal.lazy", async (ctx) => {
    let sum = 0;
    for (let s = 0; s < 3; s++) sum += await ctx.step(`s${s}`, () => s);
    sum += await ctx.step("reads", ({ signal }) => ((live = signal instanceof AbortSignal && !signal.aborted), 10));
    return sum;
  });
  const { kernel } = fakeKernel(t, store, [wf]);
  const { value, made } = await countingControllers(async () => (await kernel.start(wf, null)).result());
  assert.equal(value, 13);
  assert.equal(live, true);
  assert.equal(made, 1, "one controller: the step that read its signal");
});

test("a step that never reads its signal still ends at its timeout, and a signal read after that is aborted with the reason", async (t) => {
  const { store } = await tempStore(t, sqlite);
  const late = gate();
  let started = false;
  let seen: { aborted: boolean; reason: string } | null = null;
  const wf = workflow("signal.ignored", async (ctx) =>
    ctx.step(
      "slow",
      async (c) => {
        if (c.attempt === 2) return "second";
        started = true;
        await late.promise;
        seen = { aborted: c.signal.aborted, reason: String((c.signal.reason as Error | undefined)?.name) };
        return "too late";
      },
      { timeout: "5s", retry: { maxAttempts: 2, initialInterval: 0 } },
    ),
  );
  const { kernel, clock } = fakeKernel(t, store, [wf]);
  const run = await kernel.start(wf, null);
  await until(() => started, "attempt 1's body");
  await clock.advance(5_000);
  assert.equal(await run.result(), "second");
  late.open();
  await until(() => seen !== null, "attempt 1's body to look at its signal");
  assert.deepEqual(seen, { aborted: true, reason: "StepTimeoutError" });
  assert.match((await kernel.journal(run.id))[0]?.error?.message ?? "", /timed out after 5000 ms/);
});
