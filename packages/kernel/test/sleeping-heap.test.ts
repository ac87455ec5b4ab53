/**
 * A sleeping run holds no memory and no lease. 10,000 runs each do one step and then sleep an hour;
 * once all are suspended the worker holds none of them (no lease in the store, nothing active or hot
 * in the worker) and its heap, measured after GC, has not grown with them: the heap with 10,000
 * sleepers is within a few MB of the heap with 1,000.
 *
 * To show the bound means something, the test then measures what a run kept in memory costs (a
 * worker whose hot window covers the hour keeps each sleeping coroutine) and checks that 9,000 of
 * those would have broken the bound many times over.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import test from "node:test";
import { setImmediate as tick, setTimeout as sleep } from "node:timers/promises";
import v8 from "node:v8";
import vm from "node:vm";
import { Kernel, openSqliteStore, type SqliteStore, workflow } from "../src/index.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const FEW = 1_000;
const MANY = 10_000;
/** Allowed heap growth from FEW to MANY sleeping runs. */
const BOUND = 8 * 1024 * 1024;
const MB = (b: number) => Math.round((b / 1024 / 1024) * 100) / 100;

const sleeper = workflow("heap.sleeper", async (ctx, input: { i: number }) => {
  const v = await ctx.step("work", () => ({ i: input.i, note: `run ${input.i} did its work` }));
  await ctx.sleep("nap", "1h");
  return v;
});

/** heapUsed after full collections, once the event loop has settled. */
async function heapAfterGc(): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    await tick();
    gc();
    best = Math.min(best, process.memoryUsage().heapUsed);
  }
  return best;
}

async function startRuns(kernel: Kernel, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += 500) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(i + 500, from + count); j++) batch.push(kernel.start(sleeper, { i: j }));
    await Promise.all(batch);
  }
}

/** Waits until `n` runs are suspended (counted on a connection of its own, so the count adds nothing to the heap measured). */
async function untilSuspended(counter: DatabaseSync, kernel: Kernel, n: number, ms = 60_000): Promise<void> {
  const q = counter.prepare("SELECT status, count(*) AS c FROM runs GROUP BY status");
  const end = Date.now() + ms;
  for (;;) {
    const rows = q.all() as { status: string; c: number }[];
    const suspended = rows.find((r) => r.status === "suspended")?.c ?? 0;
    const load = kernel.worker?.load;
    if (suspended === n && load?.active === 0) return;
    if (Date.now() > end)
      assert.fail(
        `after ${ms} ms: runs by status ${JSON.stringify(rows)}, worker load ${JSON.stringify(load)}; expected ${n} suspended`,
      );
    await sleep(20);
  }
}

test("10,000 sleeping runs hold no lease and no memory in the worker", { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-heap-"));
  const stores: SqliteStore[] = [];
  const kernels: Kernel[] = [];
  const counters: DatabaseSync[] = [];
  t.after(async () => {
    for (const k of kernels) await k.close();
    for (const s of stores) await s.close();
    for (const c of counters) c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // synchronous "normal": this test measures memory, not durability, and fsyncs would only slow it down.
  const open = async (name: string, worker: object) => {
    const store = await openSqliteStore({ path: join(dir, name), synchronous: "normal" });
    const kernel = new Kernel({ store, workflows: [sleeper], worker: { pollMs: 50, ...worker } }).startWorker();
    const counter = new DatabaseSync(join(dir, name), { readOnly: true });
    stores.push(store);
    kernels.push(kernel);
    counters.push(counter);
    return { store, kernel, counter };
  };
  const t0 = performance.now();

  // ---- the kernel under test: default hot window (60 s), so hour-long sleepers are not kept ----
  const { kernel, counter } = await open("sleepers.db", {});
  await startRuns(kernel, 0, FEW);
  await untilSuspended(counter, kernel, FEW);
  assert.deepEqual(kernel.worker?.load, { active: 0, hot: 0 }, `worker load with ${FEW} sleeping runs`);
  const heapFew = await heapAfterGc();

  await startRuns(kernel, FEW, MANY - FEW);
  await untilSuspended(counter, kernel, MANY);
  assert.deepEqual(kernel.worker?.load, { active: 0, hot: 0 }, `worker load with ${MANY} sleeping runs`);
  const heapMany = await heapAfterGc();
  const startMs = performance.now() - t0;

  // The store agrees: every run is suspended, due in an hour, and leased by nobody.
  const runs = await kernel.listRuns({ limit: MANY + 1 });
  assert.equal(runs.length, MANY);
  const now = Date.now();
  const wrong = runs.filter(
    (r) =>
      r.status !== "suspended" ||
      r.leaseOwner !== null ||
      r.wakeAt === null ||
      r.wakeAt < now + 55 * 60_000 ||
      r.wakeAt > now + 3_600_000,
  );
  assert.deepEqual(
    wrong.slice(0, 5).map((r) => ({ id: r.id, status: r.status, leaseOwner: r.leaseOwner, wakeAt: r.wakeAt })),
    [],
    `${wrong.length} runs not sleeping leaseless`,
  );
  const held = counter
    .prepare("SELECT count(*) AS c FROM runs WHERE lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL")
    .get() as { c: number };
  assert.equal(held.c, 0, "leases held");
  const journal = await kernel.journal(runs[0]?.id as string);
  assert.deepEqual(
    journal.map((e) => [e.kind, e.name, e.status]),
    [
      ["step", "work", "completed"],
      ["sleep", "nap", "waiting"],
    ],
  );

  // ---- calibration: what a run kept in memory costs (hot window longer than the sleep) ----
  const CAL_BASE = 200;
  const CAL = 2_000;
  const cal = await open("hot.db", { hotWindowMs: 2 * 3_600_000, hotCacheSize: CAL_BASE + CAL });
  await startRuns(cal.kernel, 0, CAL_BASE);
  await untilSuspended(cal.counter, cal.kernel, CAL_BASE);
  const heapHotBase = await heapAfterGc();
  await startRuns(cal.kernel, CAL_BASE, CAL);
  await untilSuspended(cal.counter, cal.kernel, CAL_BASE + CAL);
  assert.deepEqual(
    cal.kernel.worker?.load,
    { active: 0, hot: CAL_BASE + CAL },
    "the calibration worker keeps every sleeper hot",
  );
  const heapHot = await heapAfterGc();
  const perHotRun = (heapHot - heapHotBase) / CAL;

  const growth = heapMany - heapFew;
  const figures = {
    heapWithFewMB: MB(heapFew),
    heapWithManyMB: MB(heapMany),
    growthMB: MB(growth),
    growthPerSleepingRunBytes: Math.round(growth / (MANY - FEW)),
    retainedRunBytes: Math.round(perHotRun),
    retained9000WouldCostMB: MB(perHotRun * (MANY - FEW)),
    boundMB: MB(BOUND),
    startAndSuspend10000Ms: Math.round(startMs),
    totalMs: Math.round(performance.now() - t0),
  };
  t.diagnostic(JSON.stringify(figures));
  console.log(`sleeping-heap figures: ${JSON.stringify(figures)}`);

  assert.ok(
    growth < BOUND,
    `the heap grew by ${MB(growth)} MB from ${FEW} to ${MANY} sleeping runs (bound ${MB(BOUND)} MB)`,
  );
  // The bound would catch a worker that kept its sleepers: 9,000 of them cost several times more.
  assert.ok(
    perHotRun * (MANY - FEW) > 3 * BOUND,
    `a retained run costs only ${Math.round(perHotRun)} bytes: the bound proves nothing`,
  );
});
