import assert from "node:assert/strict";
import { test } from "node:test";
import { IdempotencyConflictError, Kernel, type Store, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { closes, fakeKernel, gate, tempStore, until } from "./helpers.ts";

/** Ids of the runs `store`'s claims returned: a run started on its worker is never among them. */
function claimsOf(store: Store): Set<string> {
  const claimed = new Set<string>();
  const claim = store.claim.bind(store);
  store.claim = async (req) => {
    const runs = await claim(req);
    for (const r of runs) claimed.add(r.id);
    return runs;
  };
  return claimed;
}

// A run with a concurrency lane is started on the worker that receives it when the lane has room,
// admitted by the commit that inserts it; when the lane is full it is inserted queued, as before.
export function laneStart(backend: Backend): void {
  test("a run whose lane has room starts on the receiving worker, admitted in its insert's commit; one whose lane is full queues", async (t) => {
    const { store } = await tempStore(t, backend);
    const claimed = claimsOf(store);
    const began: number[] = [];
    const release = gate();
    const turn = workflow(
      "turn",
      async (ctx, n: number) => {
        await ctx.step("begin", () => began.push(n));
        await ctx.step("wait", () => (n === 1 ? release.promise : undefined));
        return n;
      },
      { concurrency: { key: () => "session", limit: 1 } },
    );
    const { kernel } = fakeKernel(t, store, [turn]);
    const first = await kernel.start(turn, 1, { key: "m1" });
    await until(() => began.length === 1, "the first run's step to begin");
    const running = await kernel.getRun(first.id);
    assert.deepEqual([running?.status, running?.queued, running?.epoch], ["running", false, 1]);
    assert.ok(!claimed.has(first.id), "the first run was not claimed: it started where it was received");

    const second = await kernel.start(turn, 2, { key: "m2" });
    const queued = await kernel.getRun(second.id);
    assert.deepEqual([queued?.status, queued?.queued, queued?.epoch, queued?.leaseOwner], ["pending", true, 0, null]);
    assert.deepEqual(began, [1], "the queued run's first step did not run");

    // Its key still names it, queued or running, with the same input checks.
    const again = await kernel.start(turn, 2, { key: "m2" });
    assert.deepEqual([again.id, again.created, again.sameInput], [second.id, false, true]);
    const other = await kernel.start(turn, 9, { key: "m1" });
    assert.deepEqual([other.id, other.created, other.sameInput], [first.id, false, false]);
    await assert.rejects(kernel.start(turn, 9, { key: "m2", ifInputDiffers: "refuse" }), (e: Error) =>
      IdempotencyConflictError.is(e),
    );
    assert.equal((await kernel.listRuns()).length, 2, "no run was added by the repeated keys");

    release.open();
    assert.equal(await first.result(), 1);
    assert.equal(await second.result(), 2);
    assert.deepEqual(began, [1, 2]);
    assert.ok(claimed.has(second.id), "the queued run was claimed once its lane admitted it");
  });

  test("hammered from two workers at once: no lane ever runs more than its limit, and each key names one run", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const limits = [1, 1, 2, 3];
    const active = limits.map(() => 0);
    const most = limits.map(() => 0);
    const nap = () => new Promise((r) => setTimeout(r, Math.random() * 2));
    // One workflow per limit (a limit belongs to a workflow); a lane is a key of its own.
    const jobs = limits.map((limit, lane) =>
      workflow(
        `job-${lane}`,
        async (ctx, n: number) => {
          await ctx.step("enter", async () => {
            active[lane]!++;
            most[lane] = Math.max(most[lane]!, active[lane]!);
            await nap();
          });
          await ctx.step("work", nap);
          await ctx.step("leave", () => active[lane]!--);
          return n;
        },
        { concurrency: { key: () => `lane-${lane}`, limit } },
      ),
    );
    const errors: string[] = [];
    const kernels = [store, await open()].map((s) =>
      closes(
        t,
        new Kernel({
          store: s,
          workflows: jobs,
          worker: { pollMs: 50, concurrency: 20 },
          onError: (e, where) => errors.push(`${where}: ${e}`),
          logger: () => {},
          retention: false,
        }).startWorker(),
      ),
    );
    const t0 = Date.now();
    const handles: { id: string; created: boolean; key: string; n: number }[] = [];
    for (let wave = 0; wave < 10; wave++) {
      // Each key is started by both workers in the same instant: one insert wins, the other returns its run.
      const starts = Array.from({ length: 24 }, (_, j) => {
        const n = wave * 12 + (j >> 1);
        const key = `k${n}`;
        return (kernels[j & 1] as Kernel)
          .start(jobs[n % jobs.length] as (typeof jobs)[0], n, { key })
          .then((h) => ({ id: h.id, created: h.created, key, n }));
      });
      handles.push(...(await Promise.all(starts)));
    }
    const byKey = new Map<string, typeof handles>();
    for (const h of handles) byKey.set(h.key, [...(byKey.get(h.key) ?? []), h]);
    for (const [key, hs] of byKey) {
      assert.equal(new Set(hs.map((h) => h.id)).size, 1, `key ${key} names one run`);
      assert.equal(hs.filter((h) => h.created).length, 1, `key ${key} was created once`);
    }
    const ids = [...new Set(handles.map((h) => h.id))];
    assert.equal(ids.length, 120);
    const results = await Promise.all(
      [...byKey.values()].map((hs) => (kernels[0] as Kernel).result<number>((hs[0] as (typeof hs)[0]).id)),
    );
    assert.deepEqual(
      results,
      [...byKey.values()].map((hs) => (hs[0] as (typeof hs)[0]).n),
    );
    assert.ok(Date.now() - t0 < 60_000, "the runs ended within a minute");
    for (const [lane, limit] of limits.entries())
      assert.ok((most[lane] as number) <= limit, `lane ${lane}: ${most[lane]} at once, limit ${limit}`);
    assert.deepEqual(active, [0, 0, 0, 0]);
    // Not vacuous: the lanes filled up, and runs did queue behind them.
    assert.deepEqual(most, limits);
    const failed = await (kernels[0] as Kernel).listRuns({ status: "failed" });
    assert.deepEqual(failed, []);
    assert.deepEqual(errors, [], "no commit failed (a deadlock between the workers' batches would)");
  });
}
