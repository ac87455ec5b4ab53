import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, FatalError, Kernel, RetryableError, StepFailedError, workflow } from "../index.ts";
import { closes, fakeKernel, gate, statusOf, tempStore, until } from "./helpers.ts";
import type { Backend } from "./backend.ts";

export function retries(backend: Backend): void {
  test("a failing step is retried with exponential back-off, on the injected clock", async (t) => {
    const { store } = await tempStore(t, backend);
    const at: number[] = [];
    let clockRef: FakeClock | undefined;
    const wf = workflow(
      "backoff",
      async (ctx) =>
        ctx.step("flaky", ({ attempt }) => {
          at.push(clockRef?.now() ?? 0);
          if (attempt < 4) throw new Error(`boom ${attempt}`);
          return "ok";
        }),
      { retry: { maxAttempts: 4, initialInterval: "1s", backoffFactor: 2, maxInterval: "3s", jitter: 0 } },
    );
    const { kernel, clock } = fakeKernel(t, store, [wf]);
    clockRef = clock;
    const run = await kernel.start(wf, null);
    // Wait until each failure is recorded with its retry time before moving the clock (the delay counts from then).
    const retrying = (n: number) =>
      until(async () => {
        const [e] = await kernel.journal(run.id);
        return e?.status === "retrying" && e.attempt === n;
      }, `attempt ${n} to fail`);
    await retrying(1);
    await clock.advance(999);
    assert.equal(at.length, 1, "no retry before the first interval");
    await clock.advance(1);
    await retrying(2);
    await clock.advance(2_000);
    await retrying(3);
    await clock.advance(3_000); // capped by maxInterval
    assert.equal(await run.result(), "ok");
    const t0 = at[0] as number;
    assert.deepEqual(
      at.map((x) => x - t0),
      [0, 1_000, 3_000, 6_000],
    );
    const [entry] = await kernel.journal(run.id);
    assert.equal(entry?.attempt, 4);
  });

  test("FatalError fails the step at once; RetryableError.retryAfterMs sets the delay", async (t) => {
    const { store } = await tempStore(t, backend);
    let fatalCalls = 0;
    const fatal = workflow(
      "fatal",
      async (ctx) => ctx.step("no", () => (fatalCalls++, Promise.reject(new FatalError("card declined")))),
      {
        retry: { maxAttempts: 10, initialInterval: 0 },
      },
    );
    const times: number[] = [];
    let clockRef: FakeClock | undefined;
    const later = workflow("retry-after", async (ctx) =>
      ctx.step("rate-limited", ({ attempt }) => {
        times.push(clockRef?.now() ?? 0);
        if (attempt === 1) throw new RetryableError("429", { retryAfterMs: 42_000 });
        return attempt;
      }),
    );
    const { kernel, clock } = fakeKernel(t, store, [fatal, later]);
    clockRef = clock;
    const f = await kernel.start(fatal, null);
    await assert.rejects(f.result(), (e: Error) => /card declined/.test(e.message));
    assert.equal(fatalCalls, 1);
    const r = await kernel.start(later, null);
    await until(async () => (await kernel.journal(r.id))[0]?.status === "retrying", "the first attempt to fail");
    await clock.advance(41_999);
    assert.equal(times.length, 1);
    await clock.advance(1);
    assert.equal(await r.result(), 2);
    assert.equal((times[1] as number) - (times[0] as number), 42_000);
  });

  test("a step that exhausts its retries throws StepFailedError into the workflow, which may catch it", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("catcher", async (ctx) => {
      try {
        await ctx.step(
          "always-fails",
          () => {
            throw new Error("nope");
          },
          { retry: { maxAttempts: 2, initialInterval: 0 } },
        );
        return "unreachable";
      } catch (e) {
        return StepFailedError.is(e) ? `caught after ${e.attempts}: ${e.causeMessage}` : "wrong error";
      }
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    assert.equal(await (await kernel.start(wf, null)).result(), "caught after 2: nope");
  });

  test("attempt counts are durable: a worker that dies mid-attempt has spent that attempt", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const hang = gate();
    let calls = 0;
    const wf = workflow(
      "crashy",
      async (ctx) =>
        ctx.step("hangs-then-fails", async () => {
          calls++;
          if (calls === 1) await hang.promise; // worker A never finishes attempt 1
          throw new Error(`attempt ${calls} failed`);
        }),
      { retry: { maxAttempts: 2, initialInterval: 0 } },
    );
    const clockA = new FakeClock();
    const a = new Kernel({
      store,
      workflows: [wf],
      clock: clockA,
      worker: { pollMs: 3_600_000, leaseMs: 10_000 },
      onError: () => {},
    }).startWorker();
    const run = await a.start(wf, null);
    await until(() => calls === 1, "attempt 1 to start on worker A");
    // Worker B sees A's lease expire (A is "dead": its clock and renewals stand still).
    const clockB = new FakeClock(clockA.now() + 60_000);
    const b = new Kernel({
      store: await open(),
      workflows: [wf],
      clock: clockB,
      worker: { pollMs: 3_600_000, leaseMs: 10_000 },
      onError: () => {},
    }).startWorker();
    closes(t, b);
    t.after(() => hang.open());
    closes(t, a);
    await assert.rejects(b.result(run.id), /failed after 2 attempts/);
    assert.equal(calls, 2, "B ran only attempt 2: the attempt A started was counted");
  });

  test("a step timeout aborts the body's signal and counts as a failed attempt", async (t) => {
    const { store } = await tempStore(t, backend);
    const reasons: string[] = [];
    let bodyStarted = false;
    const wf = workflow("slow", async (ctx) =>
      ctx.step(
        "slow",
        ({ signal, attempt }) => {
          if (attempt === 2) return "fast enough";
          bodyStarted = true;
          return new Promise((_, reject) =>
            signal.addEventListener("abort", () => (reasons.push(String(signal.reason?.name)), reject(signal.reason))),
          );
        },
        { timeout: "5s", retry: { maxAttempts: 2, initialInterval: 0 } },
      ),
    );
    const { kernel, clock } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    // The attempt's timer starts with its body (once its start is durable): move the clock only then.
    await until(() => bodyStarted, "attempt 1's body");
    await clock.advance(4_999);
    assert.deepEqual(reasons, []);
    await clock.advance(1);
    assert.equal(await run.result(), "fast enough");
    assert.deepEqual(reasons, ["StepTimeoutError"]);
    assert.match((await kernel.journal(run.id))[0]?.error?.message ?? "", /timed out after 5000 ms/);
  });

  test("a run timeout fails the run, aborting what it is doing", async (t) => {
    const { store } = await tempStore(t, backend);
    let aborted = false;
    const wf = workflow("forever", async (ctx) => {
      await ctx.step("first", () => 1);
      return ctx.step(
        "hang",
        ({ signal }) =>
          new Promise((_, rej) => signal.addEventListener("abort", () => ((aborted = true), rej(signal.reason)))),
      );
    });
    const { kernel, clock } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null, { timeout: "1m" });
    await until(async () => (await kernel.journal(run.id)).length === 2, "the second step to start");
    await clock.advance(60_000);
    await assert.rejects(run.result(), /exceeded its timeout of 60000 ms/);
    assert.equal(aborted, true);
    assert.equal(await statusOf(kernel, run.id), "failed");
  });
}
