/**
 * Kernel benchmark. One JSON object per line on stdout, progress on stderr.
 *
 *     node bench/kernel.ts [--store sqlite] [--quick] [--only limits,latency,throughput,resume,timer,background] [--dir <tmp root>]
 *
 * Every measurement opens a fresh database (for SQLite: a new file in a temp dir, WAL, synchronous=FULL,
 * i.e. the store's defaults). The store's own limits (one fsync'd commit, batched inserts) are measured
 * in the same run on the same kind of file, and the kernel's figures are also printed as ratios to them.
 * See bench/README.md for what each figure means.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import {
  FakeClock, Kernel, openSqliteStore, workflow, type Clock, type Store, type WorkerOptions, type Workflow,
} from "../packages/kernel/src/index.ts";

// ---- arguments and configuration ------------------------------------------------------------------

const SECTIONS = ["limits", "latency", "throughput", "resume", "timer", "background"] as const;
type Section = (typeof SECTIONS)[number];

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
    "usage: node bench/kernel.ts [--store sqlite] [--quick] [--only limits,latency,throughput,resume,timer,background] [--dir <tmp root>]\n",
  );
  process.exit(0);
}
const QUICK = argv.quick === true;
const only = new Set<Section>(
  argv.only === undefined
    ? SECTIONS
    : argv.only.split(",").map((s) => {
        if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section "${s}" (known: ${SECTIONS.join(", ")})`);
        return s as Section;
      }),
);

const CFG = QUICK
  ? {
      limits: { commits: 300, warmup: 30, batchSize: 1_000, batchReps: 3 },
      latency: { warmup: 30, runs: 300, longRuns: 20, longSteps: 20 },
      throughput: { warmup: 100, runs: 1_000, steps: 10, concurrency: [1_000], reps: 2 },
      resume: { ns: [10, 100, 1_000], samples: 5 },
      timer: { sequential: 10, concurrent: 50, minMs: 20, maxMs: 60 },
      background: { sleeping: [2_000], latencyRuns: 100, timerSamples: 5 },
    }
  : {
      limits: { commits: 3_000, warmup: 300, batchSize: 1_000, batchReps: 5 },
      latency: { warmup: 300, runs: 3_000, longRuns: 200, longSteps: 20 },
      throughput: { warmup: 200, runs: 2_000, steps: 10, concurrency: [100, 500, 2_000], reps: 3 },
      resume: { ns: [10, 100, 1_000], samples: 20 },
      timer: { sequential: 100, concurrent: 500, minMs: 20, maxMs: 100 },
      background: { sleeping: [2_000, 20_000], latencyRuns: 500, timerSamples: 20 },
    };

// ---- output ---------------------------------------------------------------------------------------

const STORE_KIND = argv.store ?? "sqlite";
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

interface Summary {
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
  n: number;
}

/** Nearest-rank percentiles. */
function summarize(xs: number[]): Summary {
  if (xs.length === 0) return { p50: NaN, p99: NaN, mean: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
  return { p50: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0] as number, max: s.at(-1) as number, n: s.length };
}

// ---- stores ---------------------------------------------------------------------------------------

/** A fresh database for one measurement. `stats` are the store's read/commit counters. */
interface OpenedStore {
  store: Store;
  close(): Promise<void>;
}

/** The store's own limits, measured without the kernel on the same kind of database. */
interface StoreLimits {
  /** One single-row insert transaction (with the store's durability: fsync for SQLite FULL). */
  commitMs: Summary;
  /** Plain inserts of journal-entry-sized rows, `batchSize` per transaction: median over fresh databases. */
  batchedRowsPerSec: number;
  batchedRowsPerSecRange: [number, number];
  rowBytes: number;
  details: Record<string, unknown>;
}

interface LimitsConfig {
  commits: number;
  warmup: number;
  batchSize: number;
  batchReps: number;
  /** Rows per batched run: as many as the throughput measurement's journal holds. */
  batchRows: number;
}

interface StoreFactory {
  kind: string;
  /** Settings of the databases this factory opens, for the meta line. */
  describe(): Record<string, unknown>;
  /** Opens a fresh, empty store for one measurement. */
  open(label: string): Promise<OpenedStore>;
  limits(cfg: LimitsConfig): Promise<StoreLimits>;
  dispose(): void;
}

/** The swap point for other stores (a Postgres factory comes next): one case per kind. */
function storeFactory(kind: string, root: string): StoreFactory {
  switch (kind) {
    case "sqlite":
      return sqliteFactory(root);
    default:
      throw new Error(`--store ${kind}: unknown store (known: sqlite)`);
  }
}

/** What a journal entry written by the throughput workflow holds: the row shape of the raw baseline. */
function stepValue(run: number, step: number): { run: number; step: number; ok: boolean } {
  return { run, step, ok: true };
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
    describe: () => ({ file: `${root}/*.db`, journal_mode: "wal", synchronous: "full" }),
    async open(label) {
      const path = fresh(label);
      const store = await openSqliteStore({ path, synchronous: "full" });
      return {
        store,
        async close() {
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
        batchedRowsPerSec: rs.p50,
        batchedRowsPerSecRange: [rs.min, rs.max],
        rowBytes,
        details: { journal_mode: mode, synchronous: sync === 2 ? "full" : sync, table: "entries (the kernel's own schema)" },
      };
    },
    dispose() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Time the event loop spends inside store calls (for SQLite all of a call is synchronous). */
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
function instrument(store: Store): { store: Store; timing: StoreTiming } {
  const timing: StoreTiming = { syncMs: 0, commits: 0, commitMs: 0, maxCommitMs: 0, groups: 0, ops: 0, calls: new Map() };
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
        let c = timing.calls.get(name);
        if (!c) timing.calls.set(name, (c = { n: 0, ms: 0 }));
        c.n++;
        c.ms += d;
        if (name === "commit") {
          const groups = args[0] as { ops: unknown[] }[];
          timing.commits++;
          timing.commitMs += d;
          timing.maxCommitMs = Math.max(timing.maxCommitMs, d);
          timing.groups += groups.length;
          for (const g of groups) timing.ops += g.ops.length;
        }
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

async function withKernel<T>(
  factory: StoreFactory,
  label: string,
  opts: { workflows: Workflow<never, unknown>[]; worker?: WorkerOptions; clock?: Clock },
  fn: (kernel: Kernel, store: Store, timing: StoreTiming) => Promise<T>,
): Promise<T> {
  const opened = await factory.open(label);
  const { store, timing } = instrument(opened.store);
  const kernel = new Kernel({
    store,
    workflows: opts.workflows,
    ...(opts.clock ? { clock: opts.clock } : {}),
    worker: opts.worker ?? {},
    onError: (e, where) => {
      kernelErrors.push(`${label}: ${where}: ${String(e)}`);
      note(`KERNEL ERROR (${label}) ${where}: ${String(e)}`);
    },
  }).startWorker();
  try {
    return await fn(kernel, store, timing);
  } finally {
    await kernel.close();
    await opened.close();
  }
}

/** A workflow of `steps` sequential steps; `onStep` sees each step body start. */
function sequential(steps: number, onStep?: (runId: string, step: number) => void): Workflow<number, number> {
  return workflow(`bench.seq${steps}`, async (ctx, i: number) => {
    let sum = 0;
    for (let s = 0; s < steps; s++) {
      const v = await ctx.step(`s${s}`, ({ runId }) => {
        onStep?.(runId, s);
        return stepValue(i, s);
      });
      sum += v.step;
    }
    return sum;
  });
}

// ---- 1. latency -----------------------------------------------------------------------------------

interface Figures {
  latency3?: Summary;
  latencyStep?: Summary;
  stepsPerSec?: number;
  limits?: StoreLimits;
}

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
        /** Starts `runs` runs at once and waits for all their results; returns each run's start-to-result time. */
        const batch = async (runs: number, offset: number) => {
          const t = performance.now();
          const handles = await Promise.all(Array.from({ length: runs }, (_, i) => kernel.start(wf, offset + i)));
          const lat: number[] = [];
          const results = await Promise.all(handles.map((h) => h.result().then((v) => (lat.push(performance.now() - t), v))));
          const bad = results.filter((v) => v !== expected).length;
          if (bad) throw new Error(`throughput: ${bad} runs returned a wrong result`);
          return lat;
        };
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

// ---- 5. the store's own limits --------------------------------------------------------------------

async function limits(factory: StoreFactory, figures: Figures): Promise<void> {
  const l = await factory.limits({ ...CFG.limits, batchRows: CFG.throughput.runs * CFG.throughput.steps });
  figures.limits = l;
  emit("store_commit_latency_ms", {
    ...l.commitMs, ...l.details, what: "raw node:sqlite: BEGIN IMMEDIATE; one journal-entry row INSERT; COMMIT (fsync), sequential",
  });
  emit("store_batched_insert_rows_per_s", {
    value: l.batchedRowsPerSec, min: l.batchedRowsPerSecRange[0], max: l.batchedRowsPerSecRange[1], reps: CFG.limits.batchReps,
    batch_size: CFG.limits.batchSize, rows: CFG.throughput.runs * CFG.throughput.steps, row_bytes: l.rowBytes, ...l.details,
    what: `raw node:sqlite: plain INSERTs of journal-entry rows into a fresh file, ${CFG.limits.batchSize} per transaction, as many rows as the throughput run's journal; median of ${CFG.limits.batchReps} files`,
  });
  note(`store limits: commit p50 ${l.commitMs.p50.toFixed(3)} ms, p99 ${l.commitMs.p99.toFixed(3)} ms; ` +
    `batched inserts ${l.batchedRowsPerSec.toFixed(0)} rows/s`);
}

function ratios(f: Figures): void {
  const l = f.limits;
  if (l && f.latency3) {
    emit("ratio_workflow_3step_latency_to_commit", {
      p50: f.latency3.p50 / l.commitMs.p50, p99: f.latency3.p99 / l.commitMs.p99,
      what: "3-step workflow latency / one raw fsync'd commit (p50/p50, p99/p99)",
    });
  }
  if (l && f.latencyStep) {
    emit("ratio_step_latency_to_commit", {
      p50: f.latencyStep.p50 / l.commitMs.p50, p99: f.latencyStep.p99 / l.commitMs.p99,
      what: "per-step time / one raw fsync'd commit (p50/p50, p99/p99)",
    });
  }
  if (l && f.stepsPerSec !== undefined) {
    emit("ratio_throughput_to_batched_inserts", {
      value: f.stepsPerSec / l.batchedRowsPerSec, steps_per_s: f.stepsPerSec, rows_per_s: l.batchedRowsPerSec,
      what: "best kernel steps/s / raw batched journal-row inserts/s",
    });
  }
  if (f.latency3) {
    emit("target", {
      name: "workflow_3step_latency_p50_ms", target: "<= 2", measured: f.latency3.p50, pass: f.latency3.p50 <= 2,
    });
  }
  if (l && f.stepsPerSec !== undefined) {
    const r = f.stepsPerSec / l.batchedRowsPerSec;
    emit("target", { name: "throughput_steps_per_s_vs_batched_insert_rows_per_s", target: ">= 0.25", measured: r, pass: r >= 0.25 });
  }
}

// ---- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const base = argv.dir ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(join(base, "agentd-bench-"));
  const factory = storeFactory(STORE_KIND, root);
  const cleanup = () => factory.dispose();
  process.once("SIGINT", () => (cleanup(), process.exit(130)));
  const started = performance.now();
  emit("meta", {
    quick: QUICK, sections: [...only], node: process.version, platform: `${process.platform} ${release()}`,
    cpu: cpus()[0]?.model ?? "?", cpus: cpus().length, mem_gb: round(totalmem() / 2 ** 30, 1), ...factory.describe(),
  });
  const figures: Figures = {};
  try {
    if (only.has("limits")) await limits(factory, figures);
    if (only.has("latency")) await latency(factory, figures);
    if (only.has("throughput")) await throughput(factory, figures);
    if (only.has("resume")) await resume(factory);
    if (only.has("timer")) await timers(factory);
    if (only.has("background")) await background(factory);
    ratios(figures);
  } finally {
    cleanup();
  }
  const secs = (performance.now() - started) / 1000;
  emit("done", { seconds: secs, kernel_errors: kernelErrors.length });
  note(`done in ${secs.toFixed(1)} s${kernelErrors.length ? `, ${kernelErrors.length} kernel errors` : ""}`);
}

await main();
