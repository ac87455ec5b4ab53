import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel, workflow } from "../index.ts";
import { closes, fakeKernel, tempStore, until } from "./helpers.ts";
import type { Backend } from "./backend.ts";

// A run started on a worker's own kernel is held by that worker before its insert commits: a lease
// renewal in between must not take the missing row for a lost lease.
export function startRenewal(backend: Backend): void {
  test("a lease renewal that fires while a started run's insert is in flight does not abandon the run", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow("one-shot", async (ctx, n: number) => ctx.step("s", () => n * 2), {
      retry: { maxAttempts: 1 },
    });
    const { kernel, clock } = fakeKernel(t, store, [wf], { worker: { leaseMs: 3_000 } });
    for (let i = 0; i < 20; i++) {
      const started = kernel.start(wf, i);
      // The renewal timer fires now, in the same turn as the start: the insert has not been committed yet.
      const renewed = clock.advance(1_000);
      const run = await started;
      await renewed;
      await until(
        async () => (await kernel.getRun(run.id))?.status === "completed",
        `run ${i} to complete on its first and only attempt`,
      );
      assert.equal(await run.result(), i * 2);
    }
  });

  test("hammered: runs started every millisecond under a 300 ms lease (renewed every 100 ms) never fail as WorkerLost", async (t) => {
    const { store } = await tempStore(t, backend);
    const wf = workflow(
      "hammer",
      async (ctx, n: number) => {
        const a = await ctx.step("a", () => n);
        return ctx.step("b", () => a + 1);
      },
      { retry: { maxAttempts: 1 } },
    );
    const kernel = closes(
      t,
      new Kernel({
        store,
        workflows: [wf],
        worker: { leaseMs: 300, pollMs: 50 },
        onError: () => {},
        logger: () => {},
      }).startWorker(),
    );
    const ids: string[] = [];
    const end = Date.now() + 3_000;
    while (Date.now() < end && ids.length < 4_000) {
      const batch = await Promise.all([0, 1, 2].map((k) => kernel.start(wf, ids.length + k)));
      for (const h of batch) ids.push(h.id);
      await new Promise((r) => setTimeout(r, 1));
    }
    await until(
      async () => (await kernel.listRuns({ status: ["pending", "running", "suspended"], limit: 1 })).length === 0,
      "every run to end",
      60_000,
    );
    const failed = await kernel.listRuns({ status: "failed", limit: 100 });
    assert.deepEqual(
      failed.map((r) => `${r.id}: ${r.error?.message}`),
      [],
      `none of ${ids.length} runs failed`,
    );
  });
}
