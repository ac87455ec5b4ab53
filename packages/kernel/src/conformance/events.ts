import assert from "node:assert/strict";
import { test } from "node:test";
import { RunFinishedError, RunNotFoundError, workflow } from "../index.ts";
import { fakeKernel, statusOf, tempStore, until } from "./helpers.ts";
import type { Backend } from "./backend.ts";

export function events(backend: Backend): void {
  test("an event sent before the run waits for it is buffered, not lost", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("late-waiter", async (ctx) => {
      await ctx.sleep("first", "1h");
      return ctx.waitForEvent<{ n: number }>("go");
    });
    const { kernel, clock } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await until(async () => (await statusOf(kernel, run.id)) === "suspended", "the sleep");
    assert.deepEqual(await kernel.sendEvent(run.id, "go", { n: 7 }), { delivered: true, runId: run.id });
    assert.equal(await statusOf(kernel, run.id), "suspended", "the event did not wake a run that waits for a timer");
    await clock.advance(3_600_000);
    assert.deepEqual(await run.result(), { n: 7 });
  });

  test("a run waiting for an event wakes when it arrives; events of one name are taken oldest first", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("inbox", async (ctx) => [
      await ctx.waitForEvent("msg"),
      await ctx.waitForEvent("msg"),
      await ctx.waitForEvent("other"),
    ]);
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await until(async () => (await statusOf(kernel, run.id)) === "suspended", "the wait");
    assert.deepEqual((await kernel.getRun(run.id))?.waiting, { events: ["msg"], children: [] });
    await kernel.sendEvent(run.id, "other", "o");
    await kernel.sendEvent(run.id, "msg", "m1");
    await kernel.sendEvent(run.id, "msg", "m2");
    assert.deepEqual(await run.result(), ["m1", "m2", "o"]);
  });

  test("an event delivered twice with the same event id is delivered once", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("dedupe", async (ctx) => [
      await ctx.waitForEvent("pay"),
      await ctx.waitForEvent("pay", { timeout: "1m" }),
    ]);
    const { kernel, clock } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    assert.equal((await kernel.sendEvent(run.id, "pay", 10, { eventId: "stripe-evt-1" })).delivered, true);
    assert.deepEqual(await kernel.sendEvent(run.id, "pay", 10, { eventId: "stripe-evt-1" }), {
      delivered: false,
      runId: run.id,
      reason: "duplicate",
    });
    await until(async () => (await kernel.journal(run.id)).length === 2, "the second wait");
    await clock.advance(60_000);
    assert.deepEqual(await run.result(), [10, null], "the duplicate was not delivered as a second event");
  });

  test("waitForEvent returns null when its timeout passes first", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("approval", async (ctx) => ({ answer: await ctx.waitForEvent("approve", { timeout: "24h" }) }));
    const { kernel, clock } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await until(async () => (await statusOf(kernel, run.id)) === "suspended", "the wait");
    assert.equal((await kernel.getRun(run.id))?.wakeAt, clock.now() + 86_400_000);
    await clock.advance(86_399_999);
    assert.equal(await statusOf(kernel, run.id), "suspended");
    await clock.advance(1);
    assert.deepEqual(await run.result(), { answer: null });
  });

  test("events can be addressed by workflow and idempotency key", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("order", async (ctx, id: string) => ({ id, paid: await ctx.waitForEvent("paid") }));
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, "o-1", { key: "order-1" });
    await kernel.sendEvent({ workflow: wf, key: "order-1" }, "paid", true);
    assert.deepEqual(await run.result(), { id: "o-1", paid: true });
    await assert.rejects(
      kernel.sendEvent({ workflow: "order", key: "order-2" }, "paid", true),
      (e: Error) => RunNotFoundError.is(e) && /workflow "order" with key "order-2"/.test(e.message),
    );
  });

  test("events for unknown or finished runs are refused with a typed error, and nothing stored changes", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("done", async () => "finished");
    const { kernel } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await run.result();
    const before = JSON.stringify(await store.loadEvents(run.id));
    await assert.rejects(
      kernel.sendEvent("no-such-run", "x", 1),
      (e: Error) => RunNotFoundError.is(e) && /no-such-run/.test(e.message),
    );
    await assert.rejects(
      kernel.sendEvent(run.id, "x", 1),
      (e: Error) => RunFinishedError.is(e) && /it is completed/.test(e.message),
    );
    await assert.rejects(kernel.sendEvent(run.id, "", 1), /name of 1 to 200/);
    await assert.rejects(kernel.sendEvent(run.id, "x", new Map()), /not JSON-serialisable/);
    assert.equal(JSON.stringify(await store.loadEvents(run.id)), before);
    assert.equal((await kernel.getRun(run.id))?.status, "completed");
  });
}
