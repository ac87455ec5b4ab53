/**
 * What the cluster tests share: a throwaway Postgres schema with a claim log, worker processes
 * (procs/worker.ts) spawned, stopped, killed and awaited, the side-effect logs, small statistics.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { openPostgresStore, type PostgresStore } from "../../src/store/postgres/index.ts";
import { pgUrl } from "../backends.ts";
import type { WorkerConfig } from "./procs/worker.ts";

export { pgUrl };
/** The skip reason of every cluster test when no Postgres answers. */
export const noPg = pgUrl
  ? false
  : "no Postgres reachable (set DATABASE_URL, or run ../shared/ci/postgres.sh start): the multi-process Postgres tests did not run";

const WORKER = fileURLToPath(new URL("./procs/worker.ts", import.meta.url));

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** mulberry32: a small seeded PRNG, so that kill schedules can be replayed from the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)),
  );
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `cond` (real time) until it holds; fails naming `what`, with `detail()` if given. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms: number,
  detail?: () => string | Promise<string>,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${detail ? `: ${await detail()}` : ""}`);
    await sleep(50);
  }
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/**
 * A fresh schema on `url` with the kernel's tables, plus a claim log: a trigger records every change
 * of a run's epoch (who held the run before, until when, who claims it now and at what time), so
 * tests can see takeovers and check that none happened before a lease expired.
 */
export async function tempSchema(
  url: string,
): Promise<{ schema: string; store: PostgresStore; drop(): Promise<void> }> {
  const schema = `c_${randomBytes(6).toString("hex")}`;
  const store = await openPostgresStore({ url, schema, poolSize: 4 });
  await store.query(`
    CREATE TABLE ${schema}.claim_log (
      id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, old_epoch INT NOT NULL, new_epoch INT NOT NULL, old_status TEXT NOT NULL,
      new_status TEXT NOT NULL, old_owner TEXT, new_owner TEXT, old_lease_expires_at BIGINT, claimed_at BIGINT NOT NULL, db_ms BIGINT NOT NULL)`);
  await store.query(`
    CREATE FUNCTION ${schema}.log_claim() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN
      INSERT INTO ${schema}.claim_log (run_id, old_epoch, new_epoch, old_status, new_status, old_owner, new_owner, old_lease_expires_at, claimed_at, db_ms)
      VALUES (NEW.id, OLD.epoch, NEW.epoch, OLD.status, NEW.status, OLD.lease_owner, NEW.lease_owner, OLD.lease_expires_at, NEW.updated_at,
        (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
      RETURN NULL;
    END $f$`);
  await store.query(
    `CREATE TRIGGER runs_claim_log AFTER UPDATE ON ${schema}.runs FOR EACH ROW WHEN (OLD.epoch IS DISTINCT FROM NEW.epoch) EXECUTE FUNCTION ${schema}.log_claim()`,
  );
  let dropped = false;
  return {
    schema,
    store,
    async drop() {
      if (dropped) return;
      dropped = true;
      await store.close().catch(() => {});
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface ClaimRow {
  run_id: string;
  old_epoch: number;
  new_epoch: number;
  old_status: string;
  new_status: string;
  old_owner: string | null;
  new_owner: string | null;
  old_lease_expires_at: number | null;
  claimed_at: number;
  db_ms: number;
}

export async function claimLog(store: PostgresStore): Promise<ClaimRow[]> {
  return store.query<ClaimRow & pg.QueryResultRow>("SELECT * FROM claim_log ORDER BY id");
}

/** A message from a worker process: its `type`, and whatever that kind of message carries. */
export type Message = { type: string; [k: string]: any };

export interface Proc {
  readonly id: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly log: string;
  /** Settles when the worker reports that it runs; rejects if it dies first. */
  readonly ready: Promise<void>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: boolean;
  readonly stderr: string[];
  readonly messages: Message[];
  /** The first message (already received or to come) that `pred` accepts. */
  waitFor(pred: (m: Message) => boolean, ms: number, what: string): Promise<Message>;
  /** Sends `{ type }` and resolves with the next message of that type. */
  ask(type: string, ms: number): Promise<Message>;
  /** Asks the worker to close its kernel and exit; resolves with its exit. */
  stop(ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal and waits for the process to end. */
  kill(signal?: NodeJS.Signals, ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnWorker(cfg: WorkerConfig): Proc {
  const proc = spawn(process.execPath, [WORKER, JSON.stringify(cfg)], { stdio: ["ignore", "inherit", "pipe", "ipc"] });
  const stderr: string[] = [];
  proc.stderr?.setEncoding("utf8").on("data", (d: string) => stderr.push(d));
  const messages: Message[] = [];
  const waiters = new Set<(m: Message) => void>();
  proc.on("message", (m: Message) => {
    messages.push(m);
    for (const w of waiters) w(m);
  });
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    proc.on("message", (m: Message) => m?.type === "ready" && resolve());
    proc.on("error", reject);
    void exit.then(({ code, signal }) =>
      reject(
        new Error(
          `worker ${cfg.id} (pid ${proc.pid}) exited before it was ready (code ${code}, signal ${signal}): ${stderr.join("")}`,
        ),
      ),
    );
  });
  ready.catch(() => {});
  const self: Proc = {
    id: cfg.id,
    proc,
    pid: proc.pid as number,
    log: cfg.log,
    ready,
    exit,
    get exited() {
      return exited;
    },
    stderr,
    messages,
    waitFor(pred, ms, what) {
      const seen = messages.find(pred);
      if (seen) return Promise.resolve(seen);
      let w!: (m: Message) => void;
      const p = new Promise<Message>((resolve) => {
        w = (m) => pred(m) && resolve(m);
        waiters.add(w);
      });
      return within(p, ms, `${what} (worker ${cfg.id}, pid ${proc.pid})`).finally(() => waiters.delete(w));
    },
    ask(type, ms) {
      const from = messages.length;
      proc.send({ type });
      return self.waitFor((m) => m.type === type && messages.indexOf(m) >= from, ms, `an answer to "${type}"`);
    },
    async stop(ms = 15_000) {
      if (!exited) proc.send({ type: "stop" });
      return within(exit, ms, `worker ${cfg.id} (pid ${proc.pid}) to stop`);
    },
    async kill(signal = "SIGKILL", ms = 10_000) {
      if (!exited) proc.kill(signal);
      return within(exit, ms, `worker ${cfg.id} (pid ${proc.pid}) to die of ${signal}`);
    },
  };
  return self;
}

export interface Renewals {
  /** Longest time between two successful renewals: near the lease, the worker nearly lost (or lost) its runs. */
  gapMs: number;
  /** Most a renewal started late (after the one before it ended, plus the renewal interval): the process was starved of CPU. */
  lateMs: number;
  /** The slowest renewal: about 1 s, it waited on locks until Postgres's deadlock check (deadlock_timeout). */
  slowestMs: number;
  failed: number;
}

/** How the lease renewals of each live worker went, by worker id. */
export async function renewalStats(procs: Iterable<Proc>): Promise<Record<string, Renewals>> {
  const out: Record<string, Renewals> = {};
  for (const p of procs) {
    if (p.exited) continue;
    const m = await p.ask("renewals", 10_000);
    out[p.id] = { gapMs: m.maxGapMs, lateMs: m.maxLateMs, slowestMs: m.slowestMs, failed: m.failed };
  }
  return out;
}

/** Ends every process still alive (continuing stopped ones first, so that nothing stays behind). */
export async function killAll(procs: Iterable<Proc>): Promise<void> {
  for (const p of procs) {
    if (p.exited) continue;
    try {
      p.proc.kill("SIGCONT");
      p.proc.kill("SIGKILL");
    } catch {}
    await p.exit;
  }
}

/** The scheduler state of a process: "T" while it is stopped (SIGSTOP). Linux only; null elsewhere. */
export function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return null;
  }
}

export interface LogLine {
  tag: "B" | "E" | "F";
  runId: string;
  seq: number;
  attempt: number;
  worker: string;
  pid: number;
  at: number;
  /** `${runId} ${seq}`: the step. */
  key: string;
}

/** Every line of the side-effect logs in `dir` (files named log-*), in time order. */
export function readLogs(dir: string): { lines: LogLine[]; bad: string[] } {
  const lines: LogLine[] = [];
  const bad: string[] = [];
  for (const f of readdirSync(dir).filter((f) => f.startsWith("log-"))) {
    for (const raw of readFileSync(join(dir, f), "utf8").split("\n")) {
      if (raw === "") continue;
      const [tag, runId, seq, attempt, worker, pid, at] = raw.split(" ");
      if (
        (tag !== "B" && tag !== "E" && tag !== "F") ||
        !runId ||
        !worker ||
        [seq, attempt, pid, at].some((x) => !/^\d+$/.test(x ?? ""))
      ) {
        bad.push(`${f}: ${raw}`);
        continue;
      }
      lines.push({
        tag,
        runId,
        seq: Number(seq),
        attempt: Number(attempt),
        worker,
        pid: Number(pid),
        at: Number(at),
        key: `${runId} ${seq}`,
      });
    }
  }
  lines.sort((a, b) => a.at - b.at);
  return { lines, bad };
}
