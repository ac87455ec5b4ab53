import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { closes, fakeKernel, tempStore, until } from "./helpers.ts";

export function concurrency(backend: Backend): void {
  test("runs with one concurrency key run one at a time, in the order they were started; other keys are not held up", async (t) => {
    const { store } = await tempStore(t, backend);
    const order: string[] = [];
    const turn = workflow(
      "turn",
      async (ctx, input: { session: string; n: number }) => {
        await ctx.step("begin", () => order.push(`${input.session}${input.n}`));
        await ctx.waitForEvent("done");
        return input.n;
      },
      { concurrency: { key: (i) => i.session } },
    );
    const { kernel } = fakeKernel(t, store, [turn]);
    const a1 = await kernel.start(turn, { session: "a", n: 1 });
    const a2 = await kernel.start(turn, { session: "a", n: 2 });
    const a3 = await kernel.start(turn, { session: "a", n: 3 });
    const b1 = await kernel.start(turn, { session: "b", n: 1 });
    await until(() => order.length === 2, "a1 and b1 to begin");
    assert.deepEqual(order.sort(), ["a1", "b1"]);
    const queued = await kernel.getRun(a2.id);
    assert.equal(queued?.queued, true);
    assert.equal(queued?.status, "pending");
    assert.equal(queued?.concurrencyKey, "default:a");
    assert.equal((await kernel.getRun(a3.id))?.queued, true);
    order.length = 0;
    await kernel.sendEvent(a1.id, "done");
    await a1.result();
    await until(() => order.length === 1, "a2 to begin");
    assert.deepEqual(order, ["a2"], "a2 goes before a3");
    await kernel.sendEvent(a3.id, "done"); // buffered: a3 is still queued
    await kernel.sendEvent(a2.id, "done");
    assert.equal(await a3.result(), 3);
    assert.deepEqual(order, ["a2", "a3"]);
    await kernel.sendEvent(b1.id, "done");
    await b1.result();
  });

  test("a limit of 2 lets two run at once; cancelling a running one admits the next, cancelling a queued one does not", async (t) => {
    const { store } = await tempStore(t, backend);
    let running = 0;
    let most = 0;
    const job = workflow(
      "job",
      async (ctx, n: number) => {
        await ctx.step("enter", () => (running++, (most = Math.max(most, running))));
        await ctx.waitForEvent("done");
        await ctx.step("leave", () => running--);
        return n;
      },
      { concurrency: { key: () => "pool", limit: 2 } },
    );
    const { kernel } = fakeKernel(t, store, [job]);
    const runs: Awaited<ReturnType<typeof kernel.start<number, number>>>[] = [];
    for (let i = 0; i < 5; i++) runs.push(await kernel.start(job, i));
    await until(() => running === 2, "two to run");
    const state = async () => Promise.all(runs.map(async (r) => (await kernel.getRun(r.id))?.queued));
    assert.deepEqual(await state(), [false, false, true, true, true]);
    await kernel.cancel(runs[3]!.id); // queued: frees nothing
    await kernel.cancel(runs[0]!.id); // running: its slot goes to the next in line, runs[2]
    await until(async () => (await kernel.getRun(runs[2]!.id))?.queued === false, "runs[2] admitted");
    assert.equal((await kernel.getRun(runs[4]!.id))?.queued, true);
    running--; // runs[0] was cancelled inside its wait
    for (const i of [1, 2, 4]) {
      await until(
        async () =>
          (await kernel.getRun(runs[i]!.id))?.queued === false &&
          (await kernel.getRun(runs[i]!.id))?.status === "suspended",
        `run ${i} waiting`,
      );
      await kernel.sendEvent(runs[i]!.id, "done");
    }
    assert.deepEqual(await Promise.all([1, 2, 4].map((i) => runs[i]!.result())), [1, 2, 4]);
    assert.equal(most, 2);
  });

  test("claiming is fair across namespaces: a flood of 10,000 runs in one does not starve one run in another", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const started: string[] = [];
    const work = workflow("work", async (ctx, who: string) => ctx.step("do", () => started.push(who)));
    const client = closes(t, new Kernel({ store, workflows: [work], worker: false }));
    const flood = 10_000;
    for (let i = 0; i < flood; i += 1_000)
      await Promise.all(
        Array.from({ length: 1_000 }, (_, j) => client.start(work, `a${i + j}`, { namespace: "tenant-a" })),
      );
    const lone = await client.start(work, "b", { namespace: "tenant-b" });
    const concurrency = 50;
    const t0 = performance.now();
    const worker = closes(
      t,
      new Kernel({
        store: await open(),
        workflows: [work],
        worker: { concurrency, pollMs: 50 },
        onError: () => {},
      }).startWorker(),
    );
    await worker.result(lone.id);
    const delayMs = performance.now() - t0;
    const before = started.indexOf("b");
    // The bound: the lone run is in the first claim the worker makes, so at most one worker's worth of
    // the flood (its concurrency) can start before it, however large the flood.
    assert.ok(before >= 0 && before <= concurrency, `${before} flood runs started before the other tenant's run`);
    t.diagnostic(
      JSON.stringify({
        backend: backend.name,
        flood,
        concurrency,
        floodRunsBeforeIt: before,
        delayMs: Math.round(delayMs),
      }),
    );
    await worker.close();
  });
}
