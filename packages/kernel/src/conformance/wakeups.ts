import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel, workflow } from "../index.ts";
import { closes, fakeKernel, statusOf, tempStore, until } from "./helpers.ts";
import type { Backend } from "./backend.ts";

export function wakeups(backend: Backend): void {
  test("a worker wakes exactly at the next due timer, with no polling", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("timer", async (ctx, ms: number) => {
      await ctx.sleep("nap", ms);
      return ctx.now();
    });
    const { kernel, clock } = fakeKernel(t, store, [wf]); // its safety poll is an hour away
    const start = clock.now();
    const late = await kernel.start(wf, 90_000);
    const early = await kernel.start(wf, 30_000);
    await until(
      async () =>
        (await statusOf(kernel, late.id)) === "suspended" && (await statusOf(kernel, early.id)) === "suspended",
      "both to sleep",
    );
    await clock.advance(29_999);
    assert.equal(await statusOf(kernel, early.id), "suspended");
    await clock.advance(1);
    assert.equal(await early.result(), start + 30_000, "woke at the due instant of the fake clock");
    assert.equal(await statusOf(kernel, late.id), "suspended");
    await clock.advance(60_000);
    assert.equal(await late.result(), start + 90_000);
  });

  test("sleepUntil waits for an absolute time; invalid durations are refused", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("until", async (ctx, at: number) => {
      await ctx.sleepUntil("alarm", new Date(at));
      return "rang";
    });
    const bad = workflow("bad-sleep", async (ctx, d: string) => {
      try {
        await ctx.sleep("x", d);
        return "slept";
      } catch (e) {
        return (e as Error).message;
      }
    });
    const { kernel, clock } = fakeKernel(t, store, [wf, bad]);
    const run = await kernel.start(wf, clock.now() + 5_000);
    await until(async () => (await statusOf(kernel, run.id)) === "suspended", "the alarm");
    await clock.advance(5_000);
    assert.equal(await run.result(), "rang");
    assert.match(
      String(await (await kernel.start(bad, "10 minutes")).result()),
      /invalid duration "10 minutes": use .* "1h30m"/,
    );
  });

  test("new work started in this process is claimed at once, without waiting for a poll", async (t) => {
    const { store } = await tempStore(t, backend);
    const child = workflow("leaf", async (ctx, n: number) => ctx.step("n", () => n));
    const wf = workflow("root", async (ctx) => ctx.invoke(child, 5));
    // No local fast path for children: they go through the store and the in-process signal.
    const { kernel } = fakeKernel(t, store, [wf, child]);
    const t0 = performance.now();
    assert.equal(await (await kernel.start(wf, null)).result(), 5);
    assert.ok(performance.now() - t0 < 2_000);
  });

  test("a client-only kernel starts runs that a worker kernel executes", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const wf = workflow("remote", async (ctx, n: number) => ctx.step("double", () => n * 2));
    const client = new Kernel({ store, workflows: [wf], worker: false });
    const worker = new Kernel({ store: await open(), workflows: [wf], worker: { pollMs: 20 } }).startWorker();
    closes(t, client);
    closes(t, worker);
    const run = await client.start(wf, 21);
    assert.equal(run.created, true);
    assert.equal(await run.result(), 42);
  });
}
