import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DuplicateWorkflowError,
  InvalidDurationError,
  InvalidRetryPolicyError,
  Kernel,
  KernelError,
  NotSerializableError,
  RunNotFoundError,
  UnknownWorkflowError,
  toMs,
  workflow,
} from "../index.ts";
import { fakeKernel, tempStore } from "./helpers.ts";
import type { Backend } from "./backend.ts";

export function badInput(backend: Backend): void {
  test("durations: accepted forms and clear refusals", () => {
    assert.equal(toMs("1h30m"), 5_400_000);
    assert.equal(toMs("500ms"), 500);
    assert.equal(toMs("1.5s"), 1_500);
    assert.equal(toMs(250), 250);
    for (const bad of ["10 minutes", "", "-1s", "1y", -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => toMs(bad),
        (e: Error) => InvalidDurationError.is(e) && /use a non-negative number of milliseconds/.test(e.message),
        String(bad),
      );
    }
  });

  test("retry policies are validated where they are declared", () => {
    const cases: [object, RegExp][] = [
      [{ maxAttempts: 0 }, /maxAttempts is 0, but it must be an integer of at least 1/],
      [{ maxAttempts: 2.5 }, /maxAttempts/],
      [{ backoffFactor: 0.5 }, /backoffFactor is 0.5/],
      [{ jitter: 2 }, /jitter is 2, but it must be a number between 0 and 1/],
      [{ initialInterval: "soon" }, /initialInterval is "soon"/],
      [{ initialInterval: "10s", maxInterval: "1s" }, /maxInterval .* must not be below initialInterval/],
    ];
    for (const [retry, re] of cases) {
      assert.throws(
        () => workflow("w", async () => 1, { retry }),
        (e: Error) => InvalidRetryPolicyError.is(e) && re.test(e.message),
        JSON.stringify(retry),
      );
    }
    assert.throws(() => workflow("w", async () => 1, { timeout: "forever" }), InvalidDurationError);
    assert.throws(() => workflow("bad name!", async () => 1), /workflow name "bad name!" is invalid/);
  });

  test("an invalid retry policy on one step fails that step's run with the reason, not the worker", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("bad-step-policy", async (ctx) => ctx.step("s", () => 1, { retry: { maxAttempts: -1 } }));
    const { kernel } = fakeKernel(t, store, [wf]);
    await assert.rejects((await kernel.start(wf, null)).result(), /maxAttempts is -1/);
  });

  test("duplicate and unknown workflows are refused with what to do", async (t) => {
    const { store } = await tempStore(t, backend);
    const a = workflow("same", async () => 1);
    const b = workflow("same", async () => 2);
    assert.throws(
      () => new Kernel({ store, workflows: [a, b], worker: false }),
      (e: Error) => DuplicateWorkflowError.is(e) && /registered twice/.test(e.message),
    );
    const k = new Kernel({ store, workflows: [a], worker: false });
    await assert.rejects(
      k.start("nope", null),
      (e: Error) => UnknownWorkflowError.is(e) && /not registered .* \(known: same\)/.test(e.message),
    );
    await assert.rejects(k.result("missing"), RunNotFoundError);
    await assert.rejects(k.journal("missing"), RunNotFoundError);
    await assert.rejects(k.retry("missing"), RunNotFoundError);
    await assert.rejects(k.cancel("missing"), RunNotFoundError);
  });

  test("bad input to start changes nothing stored", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("takes-input", async (_ctx, x: unknown) => x);
    const { kernel } = fakeKernel(t, store, [wf], { maxValueBytes: 100 });
    const ok = await kernel.start(wf, { fine: true });
    await ok.result();
    const before = JSON.stringify(await kernel.listRuns());
    await assert.rejects(
      kernel.start(wf, { when: new Date() }),
      (e: Error) => NotSerializableError.is(e) && /\$\.when: a Date is not a plain object/.test(e.message),
    );
    await assert.rejects(kernel.start(wf, "x".repeat(500)), /over the limit of 100 bytes/);
    await assert.rejects(kernel.start(wf, 1, { key: "" }), /idempotency key must be a string/);
    await assert.rejects(kernel.start(wf, 1, { timeout: "eventually" }), InvalidDurationError);
    assert.equal(JSON.stringify(await kernel.listRuns()), before);
    assert.ok(KernelError.is(new RunNotFoundError("x")));
  });

  test("the result of a run that is not plain JSON fails the run with the reason", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("returns-map", async () => new Map());
    const { kernel } = fakeKernel(t, store, [wf]);
    await assert.rejects((await kernel.start(wf, null)).result(), /the result of run .* a Map is not a plain object/);
  });

  test("X.is(e) tells error classes apart, and survives a copy of the class from another package install", async () => {
    const { FatalError, RetryableError, StepFailedError } = await import("../index.ts");
    const fatal = new FatalError("no");
    assert.equal(FatalError.is(fatal), true);
    assert.equal(KernelError.is(fatal), true);
    assert.equal(RetryableError.is(fatal), false);
    assert.equal(StepFailedError.is(fatal), false);
    assert.equal(FatalError.is(new Error("plain")), false);
    // A second copy of the module (as with two installs of the package) still recognises the same errors.
    const copy = (await import(`../errors.ts?copy=${Date.now()}`)) as typeof import("../errors.ts");
    assert.notEqual(copy.FatalError, FatalError);
    assert.equal(copy.FatalError.is(fatal), true);
    assert.equal(FatalError.is(new copy.FatalError("x")), true);
  });
}
