import assert from "node:assert/strict";
import { test } from "node:test";
import { ChildFailedError, FatalError, RunFailedError, workflow } from "../index.ts";
import { fakeKernel, statusOf, tempStore, until } from "./helpers.ts";
import type { Backend } from "./backend.ts";

const square = workflow("square", async (ctx, n: number) => ctx.step("mul", () => n * n));
const failing = workflow("failing", async (ctx) =>
  ctx.step("no", () => Promise.reject(new FatalError("child says no"))),
);

export function children(backend: Backend): void {
  test("ctx.invoke starts a child run and returns its result", async (t) => {
    const { store } = await tempStore(t, backend);
    const parent = workflow("sum-squares", async (ctx, ns: number[]) => {
      const squares = await Promise.all(ns.map((n) => ctx.invoke(square, n)));
      return squares.reduce((a, b) => a + b, 0);
    });
    const { kernel } = fakeKernel(t, store, [parent, square]);
    const run = await kernel.start(parent, [1, 2, 3]);
    assert.equal(await run.result(), 14);
    const children = await kernel.listRuns({ parentId: run.id });
    assert.equal(children.length, 3);
    assert.ok(children.every((c) => c.status === "completed" && c.workflow === "square"));
  });

  test("a failed child throws ChildFailedError in the parent, which can handle it", async (t) => {
    const { store } = await tempStore(t, backend);
    const parent = workflow("tolerant", async (ctx) => {
      try {
        return await ctx.invoke(failing, null);
      } catch (e) {
        return ChildFailedError.is(e) ? `child failed: ${/child says no/.test(e.message)}` : "other";
      }
    });
    const { kernel } = fakeKernel(t, store, [parent, failing]);
    assert.equal(await (await kernel.start(parent, null)).result(), "child failed: true");
  });

  test("cancelling a run cancels its waiting children and aborts running steps", async (t) => {
    const { store } = await tempStore(t, backend);
    let abortedWith = "";
    const waiter = workflow("child-waits", async (ctx) => ctx.waitForEvent("never"));
    const parent = workflow("busy-parent", async (ctx) => {
      const child = ctx.invoke(waiter, null);
      const step = ctx.step(
        "long",
        ({ signal }) =>
          new Promise((_, rej) =>
            signal.addEventListener("abort", () => ((abortedWith = signal.reason?.name), rej(signal.reason))),
          ),
      );
      return Promise.all([child, step]);
    });
    const { kernel } = fakeKernel(t, store, [parent, waiter]);
    const run = await kernel.start(parent, null);
    await until(
      async () => (await kernel.listRuns({ parentId: run.id, status: "suspended" })).length === 1,
      "the child to wait",
    );
    const ids = await kernel.cancel(run.id);
    assert.equal(ids.length, 2);
    assert.equal(abortedWith, "CancelledError");
    await assert.rejects(run.result(), (e: Error) => RunFailedError.is(e) && e.status === "cancelled");
    const [child] = await kernel.listRuns({ parentId: run.id });
    assert.equal(child?.status, "cancelled");
    await assert.rejects(kernel.cancel(run.id), /cannot cancel run .*: it is cancelled/);
    assert.equal(await statusOf(kernel, run.id), "cancelled");
  });

  test("starting with an existing idempotency key returns the existing run", async (t) => {
    const { store } = await tempStore(t, backend);
    let runs = 0;
    const wf = workflow("once", async (ctx, n: number) => ctx.step("count", () => (runs++, n)));
    const { kernel } = fakeKernel(t, store, [wf]);
    const a = await kernel.start(wf, 1, { key: "k" });
    const b = await kernel.start(wf, 2, { key: "k" });
    const [c, d] = await Promise.all([kernel.start(wf, 3, { key: "k2" }), kernel.start(wf, 4, { key: "k2" })]);
    assert.equal(a.created, true);
    assert.equal(b.created, false);
    assert.equal(b.id, a.id);
    assert.equal(c.id, d.id, "concurrent starts with one key agree on one run");
    assert.equal([c.created, d.created].filter(Boolean).length, 1);
    assert.equal(await b.result(), 1);
    await d.result();
    assert.equal(runs, 2);
    assert.equal((await kernel.listRuns({ workflow: "once" })).length, 2);
  });
}
