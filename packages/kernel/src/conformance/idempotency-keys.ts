import assert from "node:assert/strict";
import { test } from "node:test";
import { IdempotencyConflictError, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { fakeKernel, tempStore, until } from "./helpers.ts";

const echo = workflow("echo", async (ctx, input: { n: number }) => ctx.step("s", () => input.n));

export function idempotencyKeys(backend: Backend): void {
  test("a key that exists returns its run, saying whether the input was the same", async (t) => {
    const { store } = await tempStore(t, backend);
    const { kernel } = fakeKernel(t, store, [echo]);
    const first = await kernel.start(echo, { n: 1 }, { key: "k" });
    assert.deepEqual([first.created, first.sameInput], [true, true]);
    const again = await kernel.start(echo, { n: 1 }, { key: "k" });
    assert.deepEqual([again.id, again.created, again.sameInput], [first.id, false, true]);
    const other = await kernel.start(echo, { n: 2 }, { key: "k" });
    assert.deepEqual([other.id, other.created, other.sameInput], [first.id, false, false]);
    assert.equal(await other.result(), 1, "the existing run, whose input was 1");
  });

  test("ifInputDiffers: refuse rejects a different input with key_conflict; the same input still returns the run", async (t) => {
    const { store } = await tempStore(t, backend);
    const { kernel } = fakeKernel(t, store, [echo]);
    const first = await kernel.start(echo, { n: 1 }, { key: "k" });
    await assert.rejects(
      kernel.start(echo, { n: 2 }, { key: "k", ifInputDiffers: "refuse" }),
      (e: Error) =>
        IdempotencyConflictError.is(e) &&
        e.code === "key_conflict" &&
        e.existingRunId === first.id &&
        /different input/.test(e.message),
    );
    assert.equal((await kernel.start(echo, { n: 1 }, { key: "k", ifInputDiffers: "refuse" })).id, first.id);
    assert.equal((await kernel.listRuns()).length, 1, "nothing new was stored");
  });

  test("racing starts with one key and different inputs: one run, and every loser sees it is not theirs", async (t) => {
    const { store } = await tempStore(t, backend);
    const { kernel } = fakeKernel(t, store, [echo]);
    for (let round = 0; round < 50; round++) {
      const handles = await Promise.all(
        Array.from({ length: 8 }, (_, n) => kernel.start(echo, { n }, { key: `race-${round}` })),
      );
      const ids = new Set(handles.map((h) => h.id));
      assert.equal(ids.size, 1);
      const winner = handles.filter((h) => h.created);
      assert.equal(winner.length, 1);
      const input = ((await kernel.getRun(handles[0]!.id))!.input as { n: number }).n;
      for (const [n, h] of handles.entries()) assert.equal(h.sameInput, n === input, `start ${n} of round ${round}`);
    }
  });

  test("a cancelled run's completedAt is never before its last journal entry, whatever the canceller's clock says", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const wf = workflow("sleeper", async (ctx) => {
      await ctx.step("a", () => 1);
      await ctx.sleep("nap", "1h");
    });
    const { kernel: worker, clock } = fakeKernel(t, store, [wf]);
    await clock.advance(60_000); // the worker's clock runs a minute ahead of the canceller's
    const run = await worker.start(wf, null);
    await until(async () => (await worker.getRun(run.id))?.status === "suspended", "the run to sleep");
    const { kernel: admin } = fakeKernel(t, await open(), [], { worker: false });
    await admin.cancel(run.id);
    const info = await admin.getRun(run.id);
    const last = Math.max(...(await admin.journal(run.id)).map((e) => e.updatedAt));
    assert.equal(info?.status, "cancelled");
    assert.ok((info?.completedAt ?? 0) >= last, `completedAt ${info?.completedAt} >= last entry ${last}`);
  });
}
