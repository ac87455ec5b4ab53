/**
 * Kernel benchmark. One JSON object per line on stdout, progress on stderr.
 *
 *     node bench/kernel.ts [--store sqlite|postgres] [--quick] [--only <sections>] [--dir <tmp root>]
 *
 * Every measurement opens a fresh database: for SQLite a new file in a temp dir (WAL, synchronous=FULL,
 * the store's defaults); for Postgres a new schema with a random name on the server of DATABASE_URL,
 * dropped after. The store's own limits (one durable commit, batched inserts; for Postgres also
 * single-row insert transactions from 1 and 16 connections) are measured in the same run on the same
 * kind of database, and the kernel's figures are also printed as ratios to them. On Postgres the run
 * adds worker processes sharing one database, the lag of cron schedules, and the same workload on
 * DBOS Transact side by side. See bench/README.md for what each figure means.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import {
  FakeClock, Kernel, openSqliteStore, workflow, type Clock, type Store, type WorkerOptions, type Workflow,
} from "../packages/kernel/src/index.ts";
import { dbosVersion, openDbos } from "./dbos.ts";
import { postgresFactory } from "./postgres.ts";
import {
  sequential, stepValue, summarize, tickWorkflow, type OpenedStore, type StoreFactory, type StoreLimits, type Summary, type WorkerMessage,
  type WorkerSpec,
} from "./shared.ts";

// ---- arguments and configuration ------------------------------------------------------------------

const SECTIONS = ["limits", "latency", "throughput", "resume", "timer", "background", "processes", "schedule", "dbos"] as const;
type Section = (typeof SECTIONS)[number];
/** Sections a run has unless --only says otherwise: the last three are Postgres's (processes and schedule also run on SQLite when asked). */
const DEFAULT_SECTIONS: Record<string, readonly Section[]> = {
  sqlite: ["limits", "latency", "throughput", "resume", "timer", "background"],
  postgres: SECTIONS,
};
const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/test";

const { values: argv } = parseArgs({
  options: {
    store: { type: "string", default: "sqlite" },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    dir: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (argv.help) {
  process.stderr.write(
    `usage: node bench/kernel.ts [--store sqlite|postgres] [--quick] [--only ${SECTIONS.join(",")}] [--dir <tmp root>]\n` +
      `  --store postgres uses DATABASE_URL (default ${DEFAULT_PG_URL}); dbos needs \`npm --prefix bench install\`\n`,
  );
  process.exit(0);
}
const STORE_KIND = argv.store ?? "sqlite";
if (!(STORE_KIND in DEFAULT_SECTIONS)) throw new Error(`--store ${STORE_KIND}: unknown store (known: ${Object.keys(DEFAULT_SECTIONS).join(", ")})`);
const QUICK = argv.quick === true;
const only = new Set<Section>(
  argv.only === undefined
    ? DEFAULT_SECTIONS[STORE_KIND]
    : argv.only.split(",").map((s) => {
        if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section "${s}" (known: ${SECTIONS.join(", ")})`);
        return s as Section;
      }),
);
if (only.has("dbos") && STORE_KIND !== "postgres") throw new Error("--only dbos: DBOS runs on Postgres only (--store postgres)");
const PG_URL = process.env.DATABASE_URL || DEFAULT_PG_URL;
/** Connections in the kernel store's pool (the store's default), and in DBOS's (its default). */
const PG_POOL = 10;

const CFG = QUICK
  ? {
      limits: { commits: 300, warmup: 30, batchSize: 1_000, batchReps: 3, insertSecs: 1, connections: [1, 16] },
      latency: { warmup: 30, runs: 300, longRuns: 20, longSteps: 20 },
      throughput: { warmup: 100, runs: 1_000, steps: 10, concurrency: [1_000], reps: 2 },
      resume: { ns: [10, 100, 1_000], samples: 5 },
      timer: { sequential: 10, concurrent: 50, minMs: 20, maxMs: 60 },
      background: { sleeping: [2_000], latencyRuns: 100, timerSamples: 5 },
      processes: { counts: [1, 2, 4], warmup: 50, runs: 300, steps: 10, concurrency: 500, reps: 1 },
      schedule: { workers: 1, schedules: 2, seconds: 3.2, skipFirstMs: 1_500 },
      dbos: { latencyWarmup: 20, latencyRuns: 50, warmup: 20, runs: 200, reps: 1 },
    }
  : {
      limits: { commits: 3_000, warmup: 300, batchSize: 1_000, batchReps: 5, insertSecs: 3, connections: [1, 16] },
      latency: { warmup: 300, runs: 3_000, longRuns: 200, longSteps: 20 },
      throughput: { warmup: 200, runs: 2_000, steps: 10, concurrency: [100, 500, 2_000], reps: 3 },
      resume: { ns: [10, 100, 1_000], samples: 20 },
      timer: { sequential: 100, concurrent: 500, minMs: 20, maxMs: 100 },
      background: { sleeping: [2_000, 20_000], latencyRuns: 500, timerSamples: 20 },
      processes: { counts: [1, 2, 4], warmup: 100, runs: 2_000, steps: 10, concurrency: 500, reps: 2 },
      schedule: { workers: 2, schedules: 4, seconds: 15, skipFirstMs: 2_000 },
      dbos: { latencyWarmup: 50, latencyRuns: 500, warmup: 100, runs: 1_000, reps: 2 },
    };

// Postgres's runs stay under ~30 s (quick) and ~4 min (full) with the sections only it has: fewer in-process throughput runs.
if (STORE_KIND === "postgres") Object.assign(CFG.throughput, QUICK ? { runs: 500, reps: 1 } : { reps: 2 });

// ---- output ---------------------------------------------------------------------------------------

const round = (x: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

function emit(metric: string, fields: Record<string, unknown>): void {
  const out: Record<string, unknown> = { bench: "kernel", store: STORE_KIND, metric };
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === "number" ? round(v) : v;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const t0Process = performance.now();
function note(msg: string): void {
  process.stderr.write(`[bench ${((performance.now() - t0Process) / 1000).toFixed(1)}s] ${msg}\n`);
}

// ---- stores ---------------------------------------------------------------------------------------

/** The swap point for stores: one case per kind. */
async function storeFactory(kind: string, root: string): Promise<StoreFactory> {
  switch (kind) {
    case "sqlite":
      return sqliteFactory(root);
    case "postgres":
      return postgresFactory(PG_URL, PG_POOL);
    default:
      throw new Error(`--store ${kind}: unknown store (known: sqlite, postgres)`);
  }
}

function sqliteFactory(root: string): StoreFactory {
  let n = 0;
  const fresh = (label: string) => join(root, `${String(++n).padStart(2, "0")}-${label}.db`);
  const remove = (path: string) => {
    for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) rmSync(f, { force: true });
  };
  /** A raw connection to a new file holding the kernel's schema (created by the store itself), WAL + FULL. */
  const raw = async (label: string) => {
    const path = fresh(label);
    await (await openSqliteStore({ path, synchronous: "full" })).close();
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    const insert = db.prepare(`INSERT INTO entries (run_id, seq, kind, name, status, attempt, wake_at, value, error, ref, started_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const now = Date.now();
    let run = randomUUID();
    let i = 0;
    let rowBytes = 0;
    /** Inserts the next journal-entry row: runs of 10 steps, a random run id each, like the throughput workflow. */
    const put = () => {
      const seq = (i % 10) + 1;
      if (seq === 1) run = randomUUID();
      const value = JSON.stringify(stepValue(i++, seq - 1));
      const name = `s${seq - 1}`;
      rowBytes = run.length + 8 + 4 + name.length + 9 + 8 + value.length + 16;
      insert.run(run, seq, "step", name, "completed", 1, null, value, null, null, now, now);
    };
    return { db, put, rowBytes: () => rowBytes, close: () => (db.close(), remove(path)) };
  };
  return {
    kind: "sqlite",
    remote: false,
    describe: () => ({ file: `${root}/*.db`, journal_mode: "wal", synchronous: "full" }),
    async open(label): Promise<OpenedStore> {
      const path = fresh(label);
      const store = await openSqliteStore({ path, synchronous: "full" });
      let reader: DatabaseSync | null = null;
      return {
        store,
        spec: { kind: "sqlite", path },
        async progress() {
          reader ??= new DatabaseSync(path, { readOnly: true });
          const r = reader.prepare(
            `SELECT count(*) FILTER (WHERE status = 'completed') AS completed,
                    count(*) FILTER (WHERE status IN ('failed', 'cancelled')) AS failed, max(completed_at) AS last FROM runs`,
          ).get() as { completed: number; failed: number; last: number | null };
          return { completed: r.completed, failed: r.failed, lastCompletedAt: r.last };
        },
        async close() {
          reader?.close();
          await store.close();
          remove(path);
        },
      };
    },
    async limits(cfg) {
      const c = await raw("limits-commit");
      const mode = (c.db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
      const sync = (c.db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous;
      const commits: number[] = [];
      for (let k = 0; k < cfg.warmup + cfg.commits; k++) {
        const t = performance.now();
        c.db.exec("BEGIN IMMEDIATE");
        c.put();
        c.db.exec("COMMIT");
        if (k >= cfg.warmup) commits.push(performance.now() - t);
      }
      c.close();
      const rates: number[] = [];
      let rowBytes = 0;
      for (let r = 0; r < cfg.batchReps; r++) {
        const b = await raw(`limits-batch${r}`);
        const batches = Math.ceil(cfg.batchRows / cfg.batchSize);
        const t = performance.now();
        for (let k = 0; k < batches; k++) {
          b.db.exec("BEGIN IMMEDIATE");
          for (let j = 0; j < cfg.batchSize; j++) b.put();
          b.db.exec("COMMIT");
        }
        rates.push((batches * cfg.batchSize) / ((performance.now() - t) / 1000));
        rowBytes = b.rowBytes();
        b.close();
      }
      const rs = summarize(rates);
      return {
        commitMs: summarize(commits),
        whatCommit: "raw node:sqlite: BEGIN IMMEDIATE; one journal-entry row INSERT; COMMIT (fsync), sequential",
        batchedRowsPerSec: rs.p50,
        batchedRowsPerSecRange: [rs.min, rs.max],
        whatBatched: `raw node:sqlite: plain INSERTs of journal-entry rows into a fresh file, ${cfg.batchSize} per transaction, as many rows as the throughput run's journal; median of ${cfg.batchReps} files`,
        rowBytes,
        details: { journal_mode: mode, synchronous: sync === 2 ? "full" : sync, table: "entries (the kernel's own schema)" },
      };
    },
    async dispose() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * Time spent in store calls. `syncMs` is the event loop's time inside them (for SQLite all of a call is
 * synchronous). Per-method times, `commitMs` and `maxCommitMs` are that same synchronous time for a
 * local store, and the time until the call's promise settles (the round trip) for a remote one.
 */
interface StoreTiming {
  syncMs: number;
  commits: number;
  commitMs: number;
  maxCommitMs: number;
  groups: number;
  ops: number;
  /** Calls and time per store method. */
  calls: Map<string, { n: number; ms: number }>;
}

/** Wraps a store to time its calls; the kernel sees the same store (stats included). */
function instrument(store: Store, remote: boolean): { store: Store; timing: StoreTiming } {
  const timing: StoreTiming = { syncMs: 0, commits: 0, commitMs: 0, maxCommitMs: 0, groups: 0, ops: 0, calls: new Map() };
  const record = (name: string, d: number) => {
    let c = timing.calls.get(name);
    if (!c) timing.calls.set(name, (c = { n: 0, ms: 0 }));
    c.n++;
    c.ms += d;
    if (name === "commit") {
      timing.commitMs += d;
      timing.maxCommitMs = Math.max(timing.maxCommitMs, d);
    }
  };
  const wrapped = new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== "function") return v;
      const fn = v as (...args: unknown[]) => unknown;
      const name = String(prop);
      return (...args: unknown[]) => {
        const t = performance.now();
        const out = fn.apply(target, args);
        const d = performance.now() - t;
        timing.syncMs += d;
        if (name === "commit") {
          const groups = args[0] as { ops: unknown[] }[];
          timing.commits++;
          timing.groups += groups.length;
          for (const g of groups) timing.ops += g.ops.length;
        }
        if (remote && out instanceof Promise) {
          const settled = () => record(name, performance.now() - t);
          out.then(settled, settled);
        } else record(name, d);
        return out;
      };
    },
  });
  return { store: wrapped, timing };
}

/** Mean time of one call of `method` since `before` (a copy of timing.calls). */
function perCall(timing: StoreTiming, before: Map<string, { n: number; ms: number }>, method: string): { n: number; ms: number } {
  const a = timing.calls.get(method) ?? { n: 0, ms: 0 };
  const b = before.get(method) ?? { n: 0, ms: 0 };
  const n = a.n - b.n;
  return { n, ms: n > 0 ? (a.ms - b.ms) / n : 0 };
}

const snapshotCalls = (t: StoreTiming) => new Map([...t.calls].map(([k, v]) => [k, { ...v }]));

// ---- the kernel under test --------------------------------------------------------------------------

const kernelErrors: string[] = [];

/** Counts an error the kernel reported through onError; prints the first few of each measurement. */
function kernelError(label: string, where: string, e: unknown): void {
  kernelErrors.push(`${label}: ${where}: ${String(e)}`);
  const mine = kernelErrors.filter((x) => x.startsWith(`${label}:`)).length;
  const text = e instanceof Error ? e.message : String(e).split("\n")[0];
  if (mine <= 3) note(`KERNEL ERROR (${label}) ${where}: ${text}`);
  else if (mine === 4) note(`KERNEL ERROR (${label}): more errors, not shown (counted in "done")`);
}

async function withKernel<T>(
  factory: StoreFactory,
  label: string,
  opts: { workflows: Workflow<never, unknown>[]; worker?: WorkerOptions; clock?: Clock },
  fn: (kernel: Kernel, store: Store, timing: StoreTiming) => Promise<T>,
): Promise<T> {
  const opened = await factory.open(label);
  const { store, timing } = instrument(opened.store, factory.remote);
  const kernel = new Kernel({
    store,
    workflows: opts.workflows,
    ...(opts.clock ? { clock: opts.clock } : {}),
    worker: opts.worker ?? {},
    onError: (e, where) => {
      kernelError(label, where, e);
    },
  }).startWorker();
  try {
    return await fn(kernel, store, timing);
  } finally {
    await kernel.close();
    await opened.close();
  }
}

// ---- 1. latency -----------------------------------------------------------------------------------


/** Sequential runs of `wf`, one at a time: kernel.start() to run.result() resolving, in ms. */
async function sequentialRuns(kernel: Kernel, wf: Workflow<number, number>, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await (await kernel.start(wf, i)).result();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const h = await kernel.start(wf, i);
    await h.result();
    xs.push(performance.now() - t);
  }
  return xs;
}

async function latency(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.latency;
  for (const steps of [3, 1]) {
    const wf = sequential(steps);
    await withKernel(factory, `latency-${steps}step`, { workflows: [wf as Workflow<never, unknown>] }, async (kernel, store, timing) => {
      await sequentialRuns(kernel, wf, cfg.warmup, 0);
      const c0 = store.stats.commits;
      const r0 = store.stats.reads;
      const calls = snapshotCalls(timing);
      const s = summarize(await sequentialRuns(kernel, wf, 0, cfg.runs));
      if (steps === 3) figures.latency3 = s;
      emit(`workflow_${steps}step_latency_ms`, {
        ...s, sleeping_runs: 0,
        what: `kernel.start() to run.result() resolving, ${steps} sequential trivial step(s), one run at a time`,
        commits_per_run: (store.stats.commits - c0) / cfg.runs, reads_per_run: (store.stats.reads - r0) / cfg.runs,
        store_commit_ms: perCall(timing, calls, "commit").ms, store_claim_ms: perCall(timing, calls, "claim").ms,
      });
      note(`${steps}-step workflow latency: p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
    });
  }

  // Per-step time inside a longer sequential workflow: the interval between consecutive step bodies starting.
  const starts = new Map<string, number[]>();
  const wf = sequential(cfg.longSteps, (runId) => {
    let a = starts.get(runId);
    if (!a) starts.set(runId, (a = []));
    a.push(performance.now());
  });
  await withKernel(factory, `latency-${cfg.longSteps}step`, { workflows: [wf as Workflow<never, unknown>] }, async (kernel) => {
    await sequentialRuns(kernel, wf, Math.ceil(cfg.warmup / 10), 0);
    starts.clear();
    const runs = await sequentialRuns(kernel, wf, 0, cfg.longRuns);
    const gaps: number[] = [];
    for (const a of starts.values()) for (let k = 1; k < a.length; k++) gaps.push((a[k] as number) - (a[k - 1] as number));
    const s = summarize(gaps);
    figures.latencyStep = s;
    emit("step_latency_ms", {
      ...s, what: `interval between consecutive step bodies starting inside a ${cfg.longSteps}-step sequential workflow (one commit each)`,
    });
    emit(`workflow_${cfg.longSteps}step_latency_ms`, { ...summarize(runs), what: "kernel.start() to run.result() resolving, one run at a time" });
    note(`per-step time: p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
  });
}

// ---- 2. throughput --------------------------------------------------------------------------------

interface ThroughputRep {
  secs: number;
  stepsPerSec: number;
  fields: Record<string, unknown>;
}

/** Starts `runs` runs at once and waits for all their results; returns each run's start-to-result time. */
async function startAndAwait(kernel: Kernel, wf: Workflow<number, number>, runs: number, offset: number, expected: number): Promise<number[]> {
  const t = performance.now();
  const handles = await Promise.all(Array.from({ length: runs }, (_, i) => kernel.start(wf, offset + i)));
  const lat: number[] = [];
  const results = await Promise.all(handles.map((h) => h.result().then((v) => (lat.push(performance.now() - t), v))));
  const bad = results.filter((v) => v !== expected).length;
  if (bad) throw new Error(`throughput: ${bad} runs returned a wrong result`);
  return lat;
}

async function throughput(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.throughput;
  const wf = sequential(cfg.steps);
  const expected = (cfg.steps * (cfg.steps - 1)) / 2;
  let best = 0;
  for (const concurrency of cfg.concurrency) {
    const reps: ThroughputRep[] = [];
    for (let rep = 0; rep < cfg.reps; rep++) {
      const label = `throughput-c${concurrency}-r${rep}`;
      await withKernel(factory, label, { workflows: [wf as Workflow<never, unknown>], worker: { concurrency } }, async (kernel, store, timing) => {
        const batch = (runs: number, offset: number) => startAndAwait(kernel, wf, runs, offset, expected);
        await batch(cfg.warmup, 0);
        const t0 = { ...timing, calls: snapshotCalls(timing) };
        const c0 = store.stats.commits;
        const r0 = store.stats.reads;
        const t = performance.now();
        const lat = await batch(cfg.runs, cfg.warmup);
        const secs = (performance.now() - t) / 1000;
        const steps = cfg.runs * cfg.steps;
        const commits = timing.commits - t0.commits;
        const l = summarize(lat);
        reps.push({
          secs,
          stepsPerSec: steps / secs,
          fields: {
            seconds: secs, runs_per_s: cfg.runs / secs, run_latency_p50_ms: l.p50, run_latency_p99_ms: l.p99,
            commits, store_commits: store.stats.commits - c0, groups_per_commit: (timing.groups - t0.groups) / commits,
            row_writes_per_step: (timing.ops - t0.ops) / steps, max_commit_ms: timing.maxCommitMs,
            claims: perCall(timing, t0.calls, "claim").n, reads_per_run: (store.stats.reads - r0) / cfg.runs,
            get_run_per_run: perCall(timing, t0.calls, "getRun").n / cfg.runs,
            store_share: (timing.syncMs - t0.syncMs) / 1000 / secs, commit_share: (timing.commitMs - t0.commitMs) / 1000 / secs,
          },
        });
      });
    }
    const rates = summarize(reps.map((r) => r.stepsPerSec));
    const median = reps.find((r) => r.stepsPerSec === rates.p50) as ThroughputRep;
    best = Math.max(best, rates.p50);
    emit("throughput", {
      runs: cfg.runs, steps_per_run: cfg.steps, concurrency, reps: reps.length,
      steps_per_s: rates.p50, steps_per_s_min: rates.min, steps_per_s_max: rates.max, ...median.fields,
      what: `${cfg.runs} runs of ${cfg.steps} trivial steps started at once, awaited with run.result(); median of ${reps.length} fresh databases`,
    });
    note(`throughput c=${concurrency}: ${rates.p50.toFixed(0)} steps/s (${rates.min.toFixed(0)}-${rates.max.toFixed(0)}), ` +
      `${(median.fields.groups_per_commit as number).toFixed(0)} groups/commit, store ${(100 * (median.fields.store_share as number)).toFixed(0)}% of wall time`);
  }
  figures.stepsPerSec = best;
}

// ---- 3. resuming the k-th step of an n-step run ---------------------------------------------------

/** A FakeClock that also tells when its next timer is due. */
class BenchClock extends FakeClock {
  readonly #due = new Map<unknown, number>();
  override setTimer(fn: () => void, ms: number): unknown {
    const id: unknown = super.setTimer(() => {
      this.#due.delete(id);
      fn();
    }, ms);
    this.#due.set(id, this.now() + Math.max(0, ms));
    return id;
  }
  override clearTimer(handle: unknown): void {
    this.#due.delete(handle);
    super.clearTimer(handle);
  }
  nextDue(): number | null {
    let at: number | null = null;
    for (const t of this.#due.values()) if (at === null || t < at) at = t;
    return at;
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

interface StepSeen {
  t: number;
  reads: number;
  rowsRead: number;
  syncMs: number;
}

async function resume(factory: StoreFactory): Promise<void> {
  const cfg = CFG.resume;
  const SLEEP = 1_000; // fake ms: well inside the hot window
  for (const cache of ["hot", "replay"] as const) {
    for (const n of cfg.ns) {
      // The last K steps of each run are measured (K at most half the run), over enough runs for `samples` samples.
      const K = Math.min(cfg.samples, Math.ceil(n / 2));
      const runs = Math.ceil(cfg.samples / K);
      const clock = new BenchClock();
      const seen = new Map<number, StepSeen>();
      let wanted: { i: number; resolve: () => void } | null = null;
      let probe: (i: number) => void = () => {};
      // Loops n times over sleep + step. Only the last K sleeps suspend the run (the others are 0 ms and
      // journaled all the same), so the journal before step k has 2k-1 entries whichever way it got there.
      const wf = workflow("bench.loop", async (ctx, input: { n: number; sleepFrom: number }) => {
        for (let i = 0; i < input.n; i++) {
          await ctx.sleep(`z${i}`, i >= input.sleepFrom ? SLEEP : 0);
          await ctx.step(`s${i}`, () => (probe(i), i));
        }
        return input.n;
      });
      const worker: WorkerOptions = { leaseMs: 3_600_000, ...(cache === "replay" ? { hotCacheSize: 0 } : {}) };
      await withKernel(factory, `resume-${cache}-n${n}`, { workflows: [wf as Workflow<never, unknown>], worker, clock }, async (kernel, store, timing) => {
        probe = (i) => {
          seen.set(i, { t: performance.now(), reads: store.stats.reads, rowsRead: store.stats.rowsRead, syncMs: timing.syncMs });
          if (wanted && wanted.i === i) wanted.resolve();
        };
        const ms: number[] = [];
        const reads: number[] = [];
        const rows: number[] = [];
        const storeMs: number[] = [];
        const hotSeen: number[] = [];
        for (let r = 0; r < runs; r++) {
          seen.clear();
          const h = await kernel.start(wf, { n, sleepFrom: n - K });
          for (let i = n - K; i < n; i++) {
            // Suspended, and the worker's wake-up timer armed for the sleep's due time.
            await until(() => kernel.worker!.load.active === 0 && clock.nextDue() === clock.now() + SLEEP, `run to sleep before step ${i + 1}`);
            hotSeen.push(kernel.worker!.load.hot);
            const stepped = new Promise<void>((resolve) => (wanted = { i, resolve }));
            const r0 = store.stats.reads;
            const rr0 = store.stats.rowsRead;
            const s0 = timing.syncMs;
            const t = performance.now();
            const advanced = clock.advance(SLEEP); // fires the worker's wake-up timer synchronously
            await stepped;
            const got = seen.get(i) as StepSeen;
            ms.push(got.t - t);
            reads.push(got.reads - r0);
            rows.push(got.rowsRead - rr0);
            storeMs.push(got.syncMs - s0);
            await advanced;
          }
          if ((await h.result()) !== n) throw new Error("resume: wrong result");
        }
        const s = summarize(ms);
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        emit("resume_step_ms", {
          n, cache, k_from: n - K + 1, k_to: n, journal_entries_before_k: `${2 * (n - K) + 1}-${2 * n - 1}`, runs,
          p50: s.p50, p99: s.p99, max: s.max, mean: s.mean, samples: s.n,
          reads_per_resume: mean(reads), rows_read_per_resume: mean(rows), store_ms_per_resume: mean(storeMs),
          hot_cached_at_wake: Math.min(...hotSeen),
          what: "wake-up timer firing (FakeClock) to the body of step k running; includes the claim and the commit of the step's start",
        });
        note(`resume n=${n} ${cache}: p50 ${s.p50.toFixed(3)} ms, ${mean(rows).toFixed(0)} rows read/resume`);
      });
    }
  }
}

// ---- 4. wake-up lag of a durable timer -----------------------------------------------------------

/** Offset between performance.now()-based time and Date.now(), measured at a millisecond edge of Date.now(). */
function wallOffset(): number {
  const xs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const d0 = Date.now();
    let p = 0;
    let d = d0;
    while (d === d0) {
      p = performance.timeOrigin + performance.now();
      d = Date.now();
    }
    xs.push(p - d);
  }
  return summarize(xs).p50;
}

/** A workflow that sleeps `ms` (its input) and notes when its code continues; `lags` reads the due times back. */
function timerProbe() {
  const resumed = new Map<string, number>();
  let offset = wallOffset();
  const wf = workflow("bench.timer", async (ctx, ms: number) => {
    await ctx.sleep("t", ms);
    resumed.set(ctx.runId, performance.timeOrigin + performance.now() - offset); // the workflow code continuing
    return ms;
  });
  return {
    wf,
    calibrate: () => void (offset = wallOffset()),
    /** Resume time minus due time (the sleep's journaled wake_at, whole ms) of each run. */
    async lags(kernel: Kernel, ids: string[]): Promise<number[]> {
      const out: number[] = [];
      for (const id of ids) {
        const sleep = (await kernel.journal(id)).find((e) => e.kind === "sleep");
        if (sleep?.wakeAt == null || !resumed.has(id)) throw new Error(`timer: run ${id} has no sleep or did not resume`);
        out.push((resumed.get(id) as number) - sleep.wakeAt);
      }
      return out;
    },
    /** Sleeps of `count` runs, one at a time, spread over [min, max] ms; returns their lags. */
    async sequential(kernel: Kernel, count: number, min: number, max: number): Promise<number[]> {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        this.calibrate(); // the two clocks may drift apart (NTP slewing): align them before every sample
        const h = await kernel.start(wf, spread(i, count, min, max));
        await h.result();
        ids.push(h.id);
      }
      return this.lags(kernel, ids);
    },
  };
}

/** The i-th of `count` values spread (shuffled) over [min, max]. */
function spread(i: number, count: number, min: number, max: number): number {
  return min + Math.round(((max - min) * ((i * 7919) % count)) / Math.max(1, count - 1));
}

async function timers(factory: StoreFactory): Promise<void> {
  const cfg = CFG.timer;
  const probe = timerProbe();
  const wfs = [probe.wf as Workflow<never, unknown>];
  await withKernel(factory, "timer-sequential", { workflows: wfs }, async (kernel, _store, timing) => {
    await probe.sequential(kernel, 3, 5, 5); // warm-up
    const calls = snapshotCalls(timing);
    const s = summarize(await probe.sequential(kernel, cfg.sequential, cfg.minMs, cfg.maxMs));
    emit("timer_wake_lag_ms", {
      ...s, concurrent: 1, sleeping_runs: 0, sleep_ms: `${cfg.minMs}-${cfg.maxMs}`,
      store_claim_ms: perCall(timing, calls, "claim").ms, store_next_wake_at_ms: perCall(timing, calls, "nextWakeAt").ms,
      what: "workflow code continuing after ctx.sleep minus the sleep's due time (wake_at, whole ms), one run at a time",
    });
    note(`timer lag (one at a time): p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
  });
  await withKernel(factory, "timer-concurrent", { workflows: wfs, worker: { concurrency: cfg.concurrent } }, async (kernel) => {
    probe.calibrate();
    const handles = await Promise.all(Array.from({ length: cfg.concurrent }, (_, i) => kernel.start(probe.wf, spread(i, cfg.concurrent, cfg.minMs, cfg.maxMs))));
    await Promise.all(handles.map((h) => h.result()));
    const s = summarize(await probe.lags(kernel, handles.map((h) => h.id)));
    emit("timer_wake_lag_ms", {
      ...s, concurrent: cfg.concurrent, sleeping_runs: 0, sleep_ms: `${cfg.minMs}-${cfg.maxMs}`,
      what: `as above, ${cfg.concurrent} runs started together, their timers spread over the range`,
    });
    note(`timer lag (${cfg.concurrent} at once): p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
  });
}

// ---- 4b. the same with many other runs asleep -------------------------------------------------------

/**
 * A sleeping run should cost nothing until it is due. Parks `sleeping` runs on a 1 h timer, then
 * repeats the 3-step latency and the timer lag, and reports the store calls the worker makes on
 * every wake-up (claim, nextWakeAt).
 */
async function background(factory: StoreFactory): Promise<void> {
  const cfg = CFG.background;
  const probe = timerProbe();
  const wf3 = sequential(3);
  const sleeper = workflow("bench.sleeper", async (ctx) => {
    await ctx.sleep("long", "1h");
    return null;
  });
  const wfs = [probe.wf, wf3, sleeper] as Workflow<never, unknown>[];
  for (const sleeping of cfg.sleeping) {
    await withKernel(factory, `background-${sleeping}`, { workflows: wfs, worker: { concurrency: 2_000 } }, async (kernel, _store, timing) => {
      const t = performance.now();
      for (let b = 0; b < sleeping; b += 2_000) {
        await Promise.all(Array.from({ length: Math.min(2_000, sleeping - b) }, () => kernel.start(sleeper, null)));
        await until(() => kernel.worker!.load.active === 0, "the sleepers to suspend", 120_000);
      }
      note(`${sleeping} runs asleep (1 h) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      let calls = snapshotCalls(timing);
      const lat = summarize(await sequentialRuns(kernel, wf3, 20, cfg.latencyRuns));
      const claim = perCall(timing, calls, "claim");
      const wake = perCall(timing, calls, "nextWakeAt");
      emit("workflow_3step_latency_ms", {
        ...lat, sleeping_runs: sleeping, what: `as workflow_3step_latency_ms, with ${sleeping} other runs asleep on a 1 h timer`,
        store_claim_ms: claim.ms, store_next_wake_at_ms: wake.ms, claims_per_run: claim.n / (cfg.latencyRuns + 20),
        next_wake_at_per_run: wake.n / (cfg.latencyRuns + 20),
      });
      calls = snapshotCalls(timing);
      const lag = summarize(await probe.sequential(kernel, cfg.timerSamples, CFG.timer.minMs, CFG.timer.maxMs));
      emit("timer_wake_lag_ms", {
        ...lag, concurrent: 1, sleeping_runs: sleeping, sleep_ms: `${CFG.timer.minMs}-${CFG.timer.maxMs}`,
        what: `as timer_wake_lag_ms (one at a time), with ${sleeping} other runs asleep on a 1 h timer`,
        store_claim_ms: perCall(timing, calls, "claim").ms, store_next_wake_at_ms: perCall(timing, calls, "nextWakeAt").ms,
      });
      note(`with ${sleeping} asleep: 3-step p50 ${lat.p50.toFixed(3)} ms, timer lag p50 ${lag.p50.toFixed(3)} ms; ` +
        `claim ${claim.ms.toFixed(3)} ms, nextWakeAt ${wake.ms.toFixed(3)} ms per call`);
    });
  }
}

// ---- 5. worker processes sharing one database ---------------------------------------------------

interface Workers {
  count: number;
  /** Stops every worker (each closes its kernel and store) and returns their store counters. */
  stop(): Promise<{ commits: number; reads: number; rowsRead: number }[]>;
}

const WORKER_SCRIPT = join(import.meta.dirname, "kernel-worker.ts");

/** Spawns `count` worker processes (bench/kernel-worker.ts) on the database of `spec.store`; resolves once all run. */
async function startWorkers(count: number, spec: WorkerSpec, label: string): Promise<Workers> {
  const procs: ChildProcess[] = [];
  const stopped: Promise<{ commits: number; reads: number; rowsRead: number }>[] = [];
  const ready: Promise<void>[] = [];
  for (let k = 0; k < count; k++) {
    // The child's stdout goes to our stderr: stdout carries only the JSON lines.
    const child = spawn(process.execPath, [WORKER_SCRIPT, JSON.stringify(spec)], { stdio: ["ignore", 2, 2, "ipc"] });
    procs.push(child);
    let onReady!: () => void;
    let onStopped!: (s: { commits: number; reads: number; rowsRead: number }) => void;
    let fail!: (e: Error) => void;
    ready.push(new Promise<void>((res, rej) => ((onReady = res), (fail = rej))));
    stopped.push(new Promise((res) => (onStopped = res)));
    child.on("message", (m: WorkerMessage) => {
      if (m.type === "ready") onReady();
      else if (m.type === "error") {
        kernelError(`${label}, worker process ${k}`, m.where, m.error);
      } else if (m.type === "stopped") onStopped(m.stats);
    });
    child.on("exit", (code, signal) => {
      fail(new Error(`${label}: worker process ${k} exited (${code ?? signal}) before it was ready`));
      onStopped({ commits: NaN, reads: NaN, rowsRead: NaN });
    });
  }
  const killAll = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  };
  try {
    await withTimeout(Promise.all(ready), 30_000, `${label}: worker processes to start`);
  } catch (e) {
    killAll();
    throw e;
  }
  return {
    count,
    async stop() {
      for (const p of procs) if (p.connected) p.send({ type: "stop" });
      try {
        return await withTimeout(Promise.all(stopped), 30_000, `${label}: worker processes to stop`);
      } finally {
        killAll();
      }
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls the database (not the kernel) until `total` runs have ended; the latest completion time. */
async function waitEnded(opened: OpenedStore, total: number, what: string, stallMs = 15_000): Promise<{ lastCompletedAt: number; seenAt: number }> {
  let last = -1;
  let since = performance.now();
  for (;;) {
    const p = await opened.progress();
    if (p.failed > 0) throw new Error(`${what}: ${p.failed} runs failed`);
    if (p.completed >= total) return { lastCompletedAt: p.lastCompletedAt ?? 0, seenAt: Date.now() };
    if (p.completed !== last) {
      last = p.completed;
      since = performance.now();
    } else if (performance.now() - since > stallMs) {
      throw new Error(`${what}: no run completed for ${stallMs / 1000} s (${p.completed} of ${total} completed)`);
    }
    await sleepMs(10);
  }
}

/** A client-only kernel (`worker: false`) on an opened store: starts runs, executes none. */
function clientKernel(opened: OpenedStore, workflows: Workflow<never, unknown>[], label: string): Kernel {
  return new Kernel({
    store: opened.store,
    workflows,
    worker: false,
    onError: (e, where) => {
      kernelError(`${label}, client`, where, e);
    },
  });
}

/**
 * N worker processes on one database; this process starts the runs through a client kernel and
 * measures until the database says all have completed (their `completed_at`, written by the workers).
 */
async function processes(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.processes;
  const wf = sequential(cfg.steps);
  const results: { workers: number; stepsPerSec: number }[] = [];
  for (const count of cfg.counts) {
    const reps: ThroughputRep[] = [];
    for (let rep = 0; rep < cfg.reps; rep++) {
      const label = `processes-${count}-r${rep}`;
      const opened = await factory.open(label);
      const client = clientKernel(opened, [wf as Workflow<never, unknown>], label);
      let workers: Workers | null = null;
      try {
        workers = await startWorkers(
          count,
          { store: opened.spec, sequential: [cfg.steps], tick: false, concurrency: cfg.concurrency, ...(factory.remote ? {} : { pollMs: 20 }) },
          label,
        );
        const startAll = (runs: number, offset: number) => Promise.all(Array.from({ length: runs }, (_, i) => client.start(wf, offset + i)));
        await startAll(cfg.warmup, 0);
        await waitEnded(opened, cfg.warmup, label);
        const wall0 = Date.now();
        const t = performance.now();
        await startAll(cfg.runs, cfg.warmup);
        const startSecs = (performance.now() - t) / 1000;
        const done = await waitEnded(opened, cfg.warmup + cfg.runs, label);
        const secs = (done.lastCompletedAt - wall0) / 1000;
        const stats = await workers.stop();
        workers = null;
        const commits = stats.reduce((a, s) => a + s.commits, 0);
        const reads = stats.reduce((a, s) => a + s.reads, 0);
        const total = cfg.runs + cfg.warmup;
        reps.push({
          secs,
          stepsPerSec: (cfg.runs * cfg.steps) / secs,
          fields: {
            seconds: secs, runs_per_s: cfg.runs / secs, start_seconds: startSecs,
            commits_and_claims_per_run: commits / total, reads_per_run: reads / total,
            per_worker_commits_and_claims: stats.map((s) => s.commits),
          },
        });
      } finally {
        await workers?.stop().catch(() => {});
        await client.close();
        await opened.close();
      }
    }
    const rates = summarize(reps.map((r) => r.stepsPerSec));
    const median = reps.find((r) => r.stepsPerSec === rates.p50) as ThroughputRep;
    results.push({ workers: count, stepsPerSec: rates.p50 });
    emit("throughput_processes", {
      workers: count, runs: cfg.runs, steps_per_run: cfg.steps, concurrency_per_worker: cfg.concurrency, reps: reps.length,
      steps_per_s: rates.p50, steps_per_s_min: rates.min, steps_per_s_max: rates.max, ...median.fields,
      what: `${count} worker process(es) on one database; ${cfg.runs} runs of ${cfg.steps} trivial steps started at once by a worker:false ` +
        "client kernel in this process; time from the first start to the last run's completed_at; median of fresh databases",
    });
    note(`throughput with ${count} worker process(es): ${rates.p50.toFixed(0)} steps/s (${rates.min.toFixed(0)}-${rates.max.toFixed(0)})`);
  }
  figures.processes = results;
  const one = results.find((r) => r.workers === 1);
  if (one) {
    emit("ratio_throughput_processes_scaling", {
      ...Object.fromEntries(results.map((r) => [`workers_${r.workers}`, r.stepsPerSec / one.stepsPerSec])),
      what: "steps/s with N worker processes / steps/s with 1 (the machine's cores are shared with the database)",
    });
  }
}

// ---- 6. cron schedules: how late a tick fires ------------------------------------------------------

async function schedule(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.schedule;
  const label = "schedule";
  const opened = await factory.open(label);
  const client = clientKernel(opened, [tickWorkflow as Workflow<never, unknown>], label);
  let workers: Workers | null = null;
  try {
    workers = await startWorkers(
      cfg.workers,
      { store: opened.spec, sequential: [], tick: true, concurrency: 100, ...(factory.remote ? {} : { pollMs: 20 }) },
      label,
    );
    const created = Date.now();
    const ids: string[] = [];
    for (let k = 0; k < cfg.schedules; k++) {
      ids.push((await client.schedules.create({ id: `bench-${k}`, workflow: tickWorkflow.name, cron: "* * * * * *" })).id);
    }
    note(`schedule lag: ${cfg.schedules} schedule(s) firing every second for ${cfg.seconds} s on ${cfg.workers} worker process(es)`);
    await sleepMs(cfg.seconds * 1_000);
    for (const id of ids) await client.schedules.pause(id);
    const stopAt = Date.now();
    const ticks = (await Promise.all(ids.map((id) => client.schedules.ticks(id, 10_000)))).flat();
    const from = created + cfg.skipFirstMs;
    const counted = ticks.filter((t) => t.tickAt >= from);
    const started = counted.filter((t) => t.status === "started");
    const lag = summarize(started.map((t) => t.firedAt - t.tickAt));
    // The first tick of each schedule, which the workers learn about only from the database.
    const first = summarize(ids.map((id) => {
      const mine = ticks.filter((t) => t.scheduleId === id).sort((a, b) => a.tickAt - b.tickAt)[0];
      return mine ? mine.firedAt - mine.tickAt : NaN;
    }).filter((x) => !Number.isNaN(x)));
    // Tick to the started run's end: the NOTIFY, a claim and one step's commits on top of the fire lag.
    await waitEnded(opened, ticks.filter((t) => t.status === "started").length, label, 30_000);
    const ends: number[] = [];
    for (const t of started) {
      const run = t.runId ? await client.getRun(t.runId) : null;
      if (run?.completedAt != null) ends.push(run.completedAt - t.tickAt);
    }
    const expected = cfg.schedules * Math.max(0, Math.floor(stopAt / 1_000) - Math.ceil(from / 1_000) + 1);
    figures.scheduleLag = lag;
    emit("schedule_lag_ms", {
      ...lag, workers: cfg.workers, schedules: cfg.schedules, cron: "* * * * * *", seconds: cfg.seconds,
      ticks_expected: expected, ticks_recorded: counted.length, ticks_skipped: counted.filter((t) => t.status === "skipped").length,
      first_tick_lag_p50: first.p50, first_tick_max: first.max,
      run_completed_lag_p50: summarize(ends).p50, run_completed_lag_p99: summarize(ends).p99,
      what: `firedAt - tickAt of kernel.schedules.ticks(), ticks that started a run, after the first ${cfg.skipFirstMs} ms; ` +
        "run_completed_lag: the started run's completedAt - tickAt (1-step workflow)",
    });
    note(`schedule lag: p50 ${lag.p50.toFixed(1)} ms, p99 ${lag.p99.toFixed(1)} ms over ${lag.n} ticks; first tick ${first.max} ms late at most`);
  } finally {
    await workers?.stop().catch(() => {});
    await client.close();
    await opened.close();
  }
}

// ---- 7. the same workload on DBOS Transact ------------------------------------------------------------

/**
 * The 3-step latency and the 10-step throughput measured here for both systems with the same counts,
 * one after the other on the same Postgres server, each in this one process with its default pool.
 */
async function dbos(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.dbos;
  const steps = CFG.throughput.steps;
  const d = await openDbos(PG_URL, steps, note);
  try {
    const wf3 = sequential(3);
    const k3 = await withKernel(factory, "vs-dbos-3step", { workflows: [wf3 as Workflow<never, unknown>] }, async (kernel) =>
      summarize(await sequentialRuns(kernel, wf3, cfg.latencyWarmup, cfg.latencyRuns)));
    const d3 = await d.latency3(cfg.latencyWarmup, cfg.latencyRuns);
    emit("vs_dbos_workflow_3step_latency_ms", {
      kernel_p50: k3.p50, kernel_p99: k3.p99, dbos_p50: d3.p50, dbos_p99: d3.p99,
      ratio_p50: d3.p50 / k3.p50, ratio_p99: d3.p99 / k3.p99, runs: cfg.latencyRuns, dbos_version: d.version,
      what: "start to result of a 3-step workflow, one run at a time, kernel vs DBOS on the same Postgres; ratio = DBOS / kernel (> 1: the kernel is faster)",
    });
    note(`vs DBOS, 3-step latency p50: kernel ${k3.p50.toFixed(2)} ms, DBOS ${d3.p50.toFixed(2)} ms`);

    const wf = sequential(steps);
    const expected = (steps * (steps - 1)) / 2;
    const kRates: number[] = [];
    const dRates: number[] = [];
    for (let rep = 0; rep < cfg.reps; rep++) {
      await withKernel(factory, `vs-dbos-throughput-r${rep}`, { workflows: [wf as Workflow<never, unknown>], worker: { concurrency: cfg.runs } }, async (kernel) => {
        await startAndAwait(kernel, wf, cfg.warmup, 0, expected);
        const t = performance.now();
        await startAndAwait(kernel, wf, cfg.runs, cfg.warmup, expected);
        kRates.push((cfg.runs * steps) / ((performance.now() - t) / 1000));
      });
      dRates.push((await d.throughput(cfg.warmup, cfg.runs)).stepsPerSec);
    }
    const k = summarize(kRates);
    const db = summarize(dRates);
    figures.dbos = { kernelLatency3: k3, dbosLatency3: d3, kernelStepsPerSec: k.p50, dbosStepsPerSec: db.p50 };
    emit("vs_dbos_throughput_steps_per_s", {
      kernel: k.p50, kernel_min: k.min, kernel_max: k.max, dbos: db.p50, dbos_min: db.min, dbos_max: db.max, ratio: k.p50 / db.p50,
      runs: cfg.runs, steps_per_run: steps, reps: cfg.reps, dbos_version: d.version,
      what: `${cfg.runs} runs of ${steps} trivial steps started at once and awaited, one process each (kernel worker concurrency ${cfg.runs}, ` +
        "DBOS starts them all at once); median of reps; ratio = kernel / DBOS",
    });
    note(`vs DBOS, throughput: kernel ${k.p50.toFixed(0)} steps/s, DBOS ${db.p50.toFixed(0)} steps/s`);
  } finally {
    await d.close();
  }
}

// ---- 8. the store's own limits --------------------------------------------------------------------

async function limits(factory: StoreFactory, figures: Figures): Promise<void> {
  const l = await factory.limits({ ...CFG.limits, batchRows: CFG.throughput.runs * CFG.throughput.steps });
  figures.limits = l;
  emit("store_commit_latency_ms", { ...l.commitMs, ...l.details, what: l.whatCommit });
  emit("store_batched_insert_rows_per_s", {
    value: l.batchedRowsPerSec, min: l.batchedRowsPerSecRange[0], max: l.batchedRowsPerSecRange[1], reps: CFG.limits.batchReps,
    batch_size: CFG.limits.batchSize, rows: CFG.throughput.runs * CFG.throughput.steps, row_bytes: l.rowBytes, ...l.details,
    what: l.whatBatched,
  });
  for (const r of l.insertRates ?? []) {
    emit("store_insert_tps", {
      connections: r.connections, value: r.tps, latency_p50_ms: r.latency.p50, latency_p99_ms: r.latency.p99, seconds: r.seconds,
      what: `raw pg client, pgbench-style: ${r.connections} connection(s), each looping one autocommit INSERT of a journal-entry row ` +
        "(prepared) into the kernel's entries table; transactions per second",
    });
  }
  note(`store limits: commit p50 ${l.commitMs.p50.toFixed(3)} ms, p99 ${l.commitMs.p99.toFixed(3)} ms; ` +
    `batched inserts ${l.batchedRowsPerSec.toFixed(0)} rows/s` +
    (l.insertRates ?? []).map((r) => `; ${r.connections} conn: ${r.tps.toFixed(0)} inserts/s`).join(""));
}

interface Figures {
  latency3?: Summary;
  latencyStep?: Summary;
  /** Best median steps/s of the in-process throughput runs. */
  stepsPerSec?: number;
  processes?: { workers: number; stepsPerSec: number }[];
  scheduleLag?: Summary;
  dbos?: { kernelLatency3: Summary; dbosLatency3: Summary; kernelStepsPerSec: number; dbosStepsPerSec: number };
  limits?: StoreLimits;
}

function ratios(f: Figures): void {
  const l = f.limits;
  const pg = STORE_KIND === "postgres";
  const commit = pg ? "one raw autocommit insert" : "one raw fsync'd commit";
  if (l && f.latency3) {
    emit("ratio_workflow_3step_latency_to_commit", {
      p50: f.latency3.p50 / l.commitMs.p50, p99: f.latency3.p99 / l.commitMs.p99,
      what: `3-step workflow latency / ${commit} (p50/p50, p99/p99)`,
    });
  }
  if (l && f.latencyStep) {
    emit("ratio_step_latency_to_commit", {
      p50: f.latencyStep.p50 / l.commitMs.p50, p99: f.latencyStep.p99 / l.commitMs.p99,
      what: `per-step time / ${commit} (p50/p50, p99/p99)`,
    });
  }
  // The best throughput of this run: in one process, or with several worker processes.
  const candidates: [string, number][] = [];
  if (f.stepsPerSec !== undefined) candidates.push(["throughput (in-process)", f.stepsPerSec]);
  for (const p of f.processes ?? []) candidates.push([`throughput_processes (${p.workers} workers)`, p.stepsPerSec]);
  const best = candidates.reduce<[string, number] | null>((b, c) => (b === null || c[1] > b[1] ? c : b), null);
  if (l && best) {
    emit("ratio_throughput_to_batched_inserts", {
      value: best[1] / l.batchedRowsPerSec, steps_per_s: best[1], rows_per_s: l.batchedRowsPerSec, from: best[0],
      what: "best kernel steps/s / raw batched journal-row inserts/s",
    });
    for (const r of l.insertRates ?? []) {
      emit("ratio_throughput_to_insert_tps", {
        connections: r.connections, value: best[1] / r.tps, steps_per_s: best[1], inserts_per_s: r.tps, from: best[0],
        what: `best kernel steps/s / raw single-row insert transactions/s with ${r.connections} connection(s)`,
      });
    }
  }
  if (f.latency3) {
    const max = pg ? 3 : 2;
    emit("target", { name: "workflow_3step_latency_p50_ms", target: `<= ${max}`, measured: f.latency3.p50, pass: f.latency3.p50 <= max });
  }
  if (!pg && l && best) {
    const r = best[1] / l.batchedRowsPerSec;
    emit("target", { name: "throughput_steps_per_s_vs_batched_insert_rows_per_s", target: ">= 0.25", measured: r, pass: r >= 0.25 });
  }
  const tps16 = l?.insertRates?.find((r) => r.connections === 16);
  if (pg && tps16 && best) {
    const r = best[1] / tps16.tps;
    emit("target", {
      name: "throughput_steps_per_s_vs_16_connection_insert_tps", target: ">= 0.333", measured: r, pass: r >= 1 / 3,
      steps_per_s: best[1], inserts_per_s: tps16.tps, from: best[0],
    });
  }
  if (f.dbos) {
    const r = f.dbos.kernelStepsPerSec / f.dbos.dbosStepsPerSec;
    emit("target", {
      name: "throughput_steps_per_s_vs_dbos", target: ">= 2", measured: r, pass: r >= 2,
      kernel_steps_per_s: f.dbos.kernelStepsPerSec, dbos_steps_per_s: f.dbos.dbosStepsPerSec,
    });
  }
  if (f.scheduleLag) {
    emit("target", { name: "schedule_lag_p99_ms", target: "<= 50", measured: f.scheduleLag.p99, pass: f.scheduleLag.p99 <= 50 });
  }
}

// ---- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const base = argv.dir ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(join(base, "agentd-bench-"));
  const factory = await storeFactory(STORE_KIND, root);
  let disposed: Promise<void> | null = null;
  const cleanup = () => (disposed ??= factory.dispose());
  process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));
  const started = performance.now();
  emit("meta", {
    quick: QUICK, sections: [...only], node: process.version, platform: `${process.platform} ${release()}`,
    cpu: cpus()[0]?.model ?? "?", cpus: cpus().length, mem_gb: round(totalmem() / 2 ** 30, 1), loadavg: loadavg().map((x) => round(x, 2)),
    ...factory.describe(),
    ...(only.has("dbos") ? { dbos_version: dbosVersion() ?? "not installed (npm --prefix bench install)" } : {}),
  });
  const figures: Figures = {};
  const failed: Section[] = [];
  try {
    const sections: [Section, () => Promise<void>][] = [
      ["limits", () => limits(factory, figures)],
      ["latency", () => latency(factory, figures)],
      ["throughput", () => throughput(factory, figures)],
      ["processes", () => processes(factory, figures)],
      ["resume", () => resume(factory)],
      ["timer", () => timers(factory)],
      ["background", () => background(factory)],
      ["schedule", () => schedule(factory, figures)],
      ["dbos", () => dbos(factory, figures)],
    ];
    for (const [name, run] of sections) {
      if (!only.has(name)) continue;
      try {
        await run();
      } catch (e) {
        // One failing section (a kernel bug, a missing dependency) does not lose the others' figures.
        failed.push(name);
        emit("error", { section: name, error: e instanceof Error ? e.message : String(e) });
        note(`SECTION FAILED (${name}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }
    ratios(figures);
  } finally {
    await cleanup();
  }
  const secs = (performance.now() - started) / 1000;
  emit("done", { seconds: secs, kernel_errors: kernelErrors.length, failed_sections: failed, loadavg: loadavg().map((x) => round(x, 2)) });
  note(`done in ${secs.toFixed(1)} s${kernelErrors.length ? `, ${kernelErrors.length} kernel errors` : ""}${failed.length ? `; failed: ${failed.join(", ")}` : ""}`);
  if (failed.length) process.exitCode = 1;
}

await main();
