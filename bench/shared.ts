/**
 * What the benchmark's parent process and its worker processes (bench/kernel-worker.ts) share: the
 * workflows under test, and how a worker process finds the database.
 */
import { openSqliteStore, workflow, type Store, type Workflow } from "../packages/kernel/src/index.ts";
import { openPostgresStore } from "../packages/kernel/src/store/postgres/index.ts";

/** What a journal entry written by the throughput workflow holds: the row shape of the raw baselines. */
export function stepValue(run: number, step: number): { run: number; step: number; ok: boolean } {
  return { run, step, ok: true };
}

/** A workflow of `steps` sequential trivial steps; `onStep` sees each step body start. */
export function sequential(steps: number, onStep?: (runId: string, step: number) => void): Workflow<number, number> {
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

/** The workflow a schedule starts in the schedule-lag measurement: one trivial step. */
export const tickWorkflow = workflow("bench.tick", async (ctx) => ctx.step("tick", () => true));

/** Where a worker process opens the database of one measurement. */
export type StoreSpec =
  | { kind: "sqlite"; path: string }
  | { kind: "postgres"; url: string; schema: string; poolSize: number };

export async function openStore(spec: StoreSpec): Promise<Store & { close(): Promise<void> }> {
  return spec.kind === "sqlite"
    ? openSqliteStore({ path: spec.path, synchronous: "full" })
    : openPostgresStore({ url: spec.url, schema: spec.schema, poolSize: spec.poolSize });
}

/** What the parent tells a worker process to run (argv[2], JSON). */
export interface WorkerSpec {
  store: StoreSpec;
  /** `sequential(n)` workflows to register, by step count. */
  sequential: number[];
  /** Register `tickWorkflow` too (schedules). */
  tick: boolean;
  concurrency: number;
  /** Safety poll of the worker (ms); stores without cross-process notification (SQLite) need a short one. */
  pollMs?: number;
}

/** Messages of a worker process to its parent. */
export type WorkerMessage =
  | { type: "ready"; pid: number }
  | { type: "error"; where: string; error: string }
  | { type: "stopped"; stats: { commits: number; reads: number; rowsRead: number } };

// ---- figures and store factories ---------------------------------------------------------------------

export interface Summary {
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
  n: number;
}

/** Nearest-rank percentiles. */
export function summarize(xs: number[]): Summary {
  if (xs.length === 0) return { p50: NaN, p99: NaN, mean: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
  return {
    p50: at(0.5),
    p99: at(0.99),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    min: s[0] as number,
    max: s.at(-1) as number,
    n: s.length,
  };
}

/** A fresh database for one measurement. */
export interface OpenedStore {
  store: Store;
  /** How a worker process opens the same database. */
  spec: StoreSpec;
  /** Runs ended so far, read directly from the database (not through the kernel), and the latest completion time. */
  progress(): Promise<{ completed: number; failed: number; lastCompletedAt: number | null }>;
  close(): Promise<void>;
}

/** Autocommit single-row insert transactions, pgbench-style: `connections` clients in a loop for a fixed time. */
export interface InsertRate {
  connections: number;
  tps: number;
  /** Latency of one insert transaction as each client saw it. */
  latency: Summary;
  seconds: number;
}

/** The store's own limits, measured without the kernel on the same kind of database. */
export interface StoreLimits {
  /** One single-row insert transaction (with the store's durability: fsync for SQLite FULL, WAL flush for Postgres). */
  commitMs: Summary;
  whatCommit: string;
  /** Plain inserts of journal-entry-sized rows, `batchSize` per transaction: median over fresh databases. */
  batchedRowsPerSec: number;
  batchedRowsPerSecRange: [number, number];
  whatBatched: string;
  rowBytes: number;
  /** Single-row insert transactions per second with 1 and with N connections (Postgres). */
  insertRates?: InsertRate[];
  details: Record<string, unknown>;
}

export interface LimitsConfig {
  commits: number;
  warmup: number;
  batchSize: number;
  batchReps: number;
  /** Rows per batched run: as many as the throughput measurement's journal holds. */
  batchRows: number;
  /** Seconds each insert-rate measurement lasts (after a short warm-up). */
  insertSecs: number;
  /** Client counts of the insert-rate measurement. */
  connections: number[];
}

export interface StoreFactory {
  kind: string;
  /** True when store calls wait on a server (Postgres): per-call times are then round trips, not event-loop time. */
  remote: boolean;
  /** Settings of the databases this factory opens, for the meta line. */
  describe(): Record<string, unknown>;
  /** Opens a fresh, empty store for one measurement. */
  open(label: string): Promise<OpenedStore>;
  limits(cfg: LimitsConfig): Promise<StoreLimits>;
  /** Removes every database this factory made and still holds. */
  dispose(): Promise<void>;
}
