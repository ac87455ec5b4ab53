import assert from "node:assert/strict";
import { test } from "node:test";
import { FatalError, RunFinishedError, RunNotFailedError, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { fakeKernel, gate, tempStore, until } from "./helpers.ts";

// kernel.retry() resumes from the failure that ended the run: failures the code caught and handled stay as they were.
export function retryResume(backend: Backend): void {
  test("a failure the workflow caught is not re-run by retry (the code keeps the branch it took)", async (t) => {
    const { store } = await tempStore(t, backend);
    const calls = { primary: 0, fallback: 0, final: 0 };
    let finalDown = true;
    const wf = workflow("fallback", async (ctx) => {
      let v: string;
      try {
        v = await ctx.step("primary", () =>
          calls.primary++ === 0 ? Promise.reject(new FatalError("primary down")) : "primary",
        );
      } catch {
        v = await ctx.step("fallback", () => (calls.fallback++, "fallback"));
      }
      return ctx.step("final", () => {
        calls.final++;
        if (finalDown) throw new FatalError("final down");
        return v;
      });
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await assert.rejects(run.result(), /final down/);
    finalDown = false;
    await kernel.retry(run.id);
    assert.equal(await run.result(), "fallback");
    assert.deepEqual(calls, { primary: 1, fallback: 1, final: 2 });
    // And again: a second failure after a retry resumes the same way.
    const journal = await kernel.journal(run.id);
    assert.deepEqual(
      journal.map((e) => `${e.name}:${e.status}`),
      ["primary:failed", "fallback:completed", "final:completed"],
    );
  });

  test("compensation before a rethrow: retry re-runs the failed step, and the compensation goes with the failure it answered", async (t) => {
    const { store } = await tempStore(t, backend);
    let down = true;
    const undone: string[] = [];
    const wf = workflow("compensate", async (ctx) => {
      try {
        return await ctx.step("charge", () => (down ? Promise.reject(new FatalError("card declined")) : "charged"));
      } catch (e) {
        await ctx.step("undo", () => (undone.push(ctx.runId), null));
        throw e;
      }
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await assert.rejects(run.result(), /card declined/);
    assert.equal((await kernel.getRun(run.id))?.error?.seq, 1, "the run's error names the entry that ended it");
    down = false;
    await kernel.retry(run.id);
    assert.equal(await run.result(), "charged");
    assert.deepEqual(
      (await kernel.journal(run.id)).map((e) => `${e.name}:${e.status}`),
      ["charge:completed"],
    );
    assert.equal(undone.length, 1);
  });

  test("failures the code collected and then gave up on (its own error) are all re-run", async (t) => {
    const { store } = await tempStore(t, backend);
    let down = true;
    const wf = workflow("settled", async (ctx) => {
      const r = await Promise.allSettled(
        ["a", "b", "c"].map((n) =>
          ctx.step(n, () => (down && n !== "b" ? Promise.reject(new FatalError(`${n} down`)) : n)),
        ),
      );
      if (r.some((x) => x.status === "rejected")) throw new Error("some parts failed");
      return r.map((x) => (x as PromiseFulfilledResult<string>).value).join("");
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await assert.rejects(run.result(), /some parts failed/);
    down = false;
    await kernel.retry(run.id);
    assert.equal(await run.result(), "abc");
  });

  test("a run that timed out after handling a failure re-runs only the step the timeout cut short", async (t) => {
    const { store } = await tempStore(t, backend);
    const calls = { a: 0, fallback: 0, b: 0, d: 0 };
    const slow = gate<string>();
    const wf = workflow(
      "handled-then-timeout",
      async (ctx) => {
        try {
          await ctx.step("a", () => (calls.a++, Promise.reject(new FatalError("a down"))));
        } catch {
          await ctx.step("fallback", () => (calls.fallback++, 1));
        }
        await ctx.step("b", () => (calls.b++, 2));
        return ctx.step("d", () => (calls.d++ === 0 ? slow.promise : "done"));
      },
      { timeout: "1s" },
    );
    const { kernel, clock } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await until(() => calls.d === 1, "d to start");
    await clock.advance(1_500);
    await assert.rejects(run.result(), /timed out|timeout/i);
    await kernel.retry(run.id);
    assert.equal(await run.result(), "done");
    assert.deepEqual(calls, { a: 1, fallback: 1, b: 1, d: 2 });
  });

  test("a wrapped step failure (the code's own error with it as the cause) is what retry resumes", async (t) => {
    const { store } = await tempStore(t, backend);
    let down = true;
    const wf = workflow("wrapped", async (ctx) => {
      try {
        return await ctx.step("charge", () => (down ? Promise.reject(new FatalError("declined")) : "charged"));
      } catch (e) {
        throw new Error("payment failed", { cause: e });
      }
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await assert.rejects(run.result(), /payment failed/);
    assert.equal((await kernel.getRun(run.id))?.error?.seq, 1);
    down = false;
    await kernel.retry(run.id);
    assert.equal(await run.result(), "charged");
  });

  test("a run that ended during a step's last allowed attempt (run timeout) resumes that step on retry", async (t) => {
    const { store } = await tempStore(t, backend);
    let attempts = 0;
    const slow = gate<string>();
    const wf = workflow("slow", async (ctx) => ctx.step("only", () => (attempts++ === 0 ? slow.promise : "done")), {
      timeout: "1s",
      retry: { maxAttempts: 1 },
    });
    const { kernel, clock } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await until(() => attempts === 1, "the attempt to start");
    await clock.advance(1_500);
    await assert.rejects(run.result(), /timed out|timeout/i);
    await kernel.retry(run.id);
    assert.equal(await run.result(), "done");
    assert.equal(attempts, 2);
  });

  test("a parallel step cut short by its sibling's failure runs again on retry", async (t) => {
    const { store } = await tempStore(t, backend);
    let aDown = true;
    let bRuns = 0;
    const hang = gate<string>();
    const wf = workflow("parallel", async (ctx) => {
      const [a, b] = await Promise.all([
        ctx.step("a", () => (aDown ? Promise.reject(new FatalError("a down")) : "a")),
        ctx.step("b", () => (bRuns++ === 0 ? hang.promise : "b"), { retry: { maxAttempts: 1 } }),
      ]);
      return a + b;
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await assert.rejects(run.result(), /a down/);
    aDown = false;
    await kernel.retry(run.id);
    assert.equal(await run.result(), "ab");
    assert.equal(bRuns, 2);
  });

  test("retry refuses a run that has not ended with run_not_failed, and a completed one with run_finished", async (t) => {
    const { store } = await tempStore(t, backend);
    const held = gate();
    const wf = workflow("held", async (ctx) => ctx.step("s", () => held.promise.then(() => 1)));
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await assert.rejects(
      kernel.retry(run.id),
      (e: Error) =>
        RunNotFailedError.is(e) && e.code === "run_not_failed" && /it is running, not failed/.test(e.message),
    );
    held.open();
    await run.result();
    await assert.rejects(
      kernel.retry(run.id),
      (e: Error) => RunFinishedError.is(e) && /it is completed/.test(e.message),
    );
  });
}
