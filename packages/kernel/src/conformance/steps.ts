import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, Kernel, NotSerializableError, ValueTooLargeError, workflow } from "../index.ts";
import { closes, fakeKernel, statusOf, tempStore, until } from "./helpers.ts";
import type { Backend } from "./backend.ts";

export function steps(backend: Backend): void {
  test("a step's result is checkpointed and replay answers it from the journal without running the body", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const calls: Record<string, number> = { a: 0, b: 0 };
    const wf = workflow("replay", async (ctx, n: number) => {
      const a = await ctx.step("a", () => ((calls.a = (calls.a ?? 0) + 1), n + 1));
      await ctx.sleep("nap", "1h");
      const b = await ctx.step("b", () => ((calls.b = (calls.b ?? 0) + 1), a * 2));
      return { a, b };
    });
    const clock = new FakeClock();
    const first = new Kernel({ store, workflows: [wf], clock, worker: { pollMs: 3_600_000 } }).startWorker();
    const run = await first.start(wf, 4);
    await until(async () => (await statusOf(first, run.id)) === "suspended", "the run to suspend in its sleep");
    await first.close();
    // A new process (new kernel, new worker, new connection) resumes the run by replaying its journal.
    const second = new Kernel({
      store: await open(),
      workflows: [wf],
      clock,
      worker: { pollMs: 3_600_000 },
    }).startWorker();
    closes(t, second);
    await clock.advance(3_600_000);
    assert.deepEqual(await second.result(run.id), { a: 5, b: 10 });
    assert.deepEqual(calls, { a: 1, b: 1 }, "step a ran once, though the run was replayed by a second worker");
    const journal = await second.journal(run.id);
    assert.deepEqual(
      journal.map((e) => [e.seq, e.kind, e.name, e.status]),
      [
        [1, "step", "a", "completed"],
        [2, "sleep", "nap", "completed"],
        [3, "step", "b", "completed"],
      ],
    );
  });

  test("parallel steps with Promise.all run concurrently and each is recorded once", async (t) => {
    const { store } = await tempStore(t, backend);
    let inFlight = 0;
    let maxInFlight = 0;
    const body = async (v: number) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return v;
    };
    const wf = workflow("fanout", async (ctx) =>
      Promise.all([1, 2, 3, 4].map((i) => ctx.step(`part-${i}`, () => body(i * 10)))),
    );
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    assert.deepEqual(await run.result(), [10, 20, 30, 40]);
    assert.equal(maxInFlight, 4);
    assert.equal((await kernel.journal(run.id)).filter((e) => e.status === "completed").length, 4);
  });

  test("a step result that is not plain JSON fails the step at once, naming the path, and is never retried", async (t) => {
    const { store } = await tempStore(t, backend);
    const bad: Record<string, () => unknown> = {
      map: () => ({ m: new Map([[1, 2]]) }),
      date: () => ({ when: new Date(0) }),
      nan: () => [1, Number.NaN],
      bigint: () => ({ n: 1n }),
      cycle: () => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      },
      fn: () => ({ f: () => 1 }),
      nested_undefined: () => [undefined],
      instance: () =>
        new (class Point {
          x = 1;
        })(),
    };
    let attempts = 0;
    const wf = workflow("bad-json", async (ctx, kind: string) =>
      ctx.step("produce", () => (attempts++, bad[kind]?.()), { retry: { maxAttempts: 5, initialInterval: 0 } }),
    );
    const { kernel } = fakeKernel(t, store, [wf]);
    for (const kind of Object.keys(bad)) {
      attempts = 0;
      const run = await kernel.start(wf, kind);
      await assert.rejects(run.result(), /failed/);
      const [entry] = await kernel.journal(run.id);
      assert.equal(entry?.status, "failed", kind);
      assert.equal(entry?.error?.name, "NotSerializableError", kind);
      assert.match(entry?.error?.message ?? "", /\$/, `${kind}: the message names the path`);
      assert.equal(attempts, 1, `${kind}: not retried`);
    }
    // undefined at the top is fine (a step that returns nothing) and replays as undefined.
    const ok = workflow("void-step", async (ctx) => ({
      r: (await ctx.step("nothing", () => undefined)) === undefined,
    }));
    const { kernel: k2 } = fakeKernel(t, store, [ok]);
    assert.deepEqual(await (await k2.start(ok, null)).result(), { r: true });
    assert.equal(NotSerializableError.name, "NotSerializableError");
  });

  test("a step result over the size limit is refused with advice to store a blob", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("big", async (ctx, n: number) => ctx.step("blob", () => "x".repeat(n)));
    const { kernel } = fakeKernel(t, store, [wf], { maxValueBytes: 1_000 });
    assert.equal(await (await kernel.start(wf, 900)).result(), "x".repeat(900));
    const run = await kernel.start(wf, 5_000);
    await assert.rejects(run.result(), /over the limit of 1000 bytes/);
    const [entry] = await kernel.journal(run.id);
    assert.equal(entry?.error?.name, "ValueTooLargeError");
    assert.match(entry?.error?.message ?? "", /blob/);
    assert.equal(entry?.attempt, 1);
    assert.equal(ValueTooLargeError.name, "ValueTooLargeError");
  });

  test("a step gets an AbortSignal and an idempotency key runId:seq that is the same on every attempt", async (t) => {
    const { store } = await tempStore(t, backend);
    const seen: { key: string; attempt: number; signal: boolean }[] = [];
    const wf = workflow("keys", async (ctx) => {
      await ctx.step("first", () => 1);
      return ctx.step(
        "second",
        ({ idempotencyKey, attempt, signal }) => {
          seen.push({ key: idempotencyKey, attempt, signal: signal instanceof AbortSignal && !signal.aborted });
          if (attempt < 3) throw new Error("flaky");
          return idempotencyKey;
        },
        { retry: { maxAttempts: 3, initialInterval: 0, jitter: 0 } },
      );
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    assert.equal(await run.result(), `${run.id}:2`);
    assert.deepEqual(
      seen,
      [1, 2, 3].map((attempt) => ({ key: `${run.id}:2`, attempt, signal: true })),
    );
  });

  test("ctx.now, ctx.uuid and ctx.random are recorded: a replay sees the same values", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const wf = workflow("recorded", async (ctx) => {
      const values = { now: await ctx.now(), uuid: await ctx.uuid(), random: await ctx.random() };
      await ctx.sleep("wait", "1m");
      return values;
    });
    const clock = new FakeClock();
    const k1 = new Kernel({ store, workflows: [wf], clock, worker: { pollMs: 3_600_000 } }).startWorker();
    const run = await k1.start(wf, null);
    await until(async () => (await statusOf(k1, run.id)) === "suspended", "suspension");
    const before = (await k1.journal(run.id)).slice(0, 3).map((e) => e.value);
    await k1.close();
    const k2 = new Kernel({ store: await open(), workflows: [wf], clock, worker: { pollMs: 3_600_000 } }).startWorker();
    closes(t, k2);
    await clock.advance(60_000);
    const out = (await k2.result(run.id)) as { now: number; uuid: string; random: number };
    assert.deepEqual([out.now, out.uuid, out.random], before);
    assert.equal(out.now, clock.now() - 60_000);
    assert.match(out.uuid, /^[0-9a-f-]{36}$/);
  });
}
