import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { openSqliteStore } from "../../packages/kernel/src/index.ts";
import { postgresFactory } from "../postgres.ts";
import { stepValue, summarize, type OpenedStore, type StoreFactory } from "../shared.ts";
import { PG_POOL, PG_URL } from "./config.ts";

// ---- stores ---------------------------------------------------------------------------------------

/** A store factory that can also measure one rep of the raw batched inserts on its own (SQLite). */
export interface KernelStoreFactory extends StoreFactory {
  /**
   * One rep of raw batched inserts: `rows` journal-entry rows into a fresh file, `batchSize` per
   * transaction. The throughput section runs these between its kernel reps, so load from elsewhere
   * on the machine weighs on the kernel and on its denominator alike.
   */
  batchRate?(rows: number, batchSize: number): Promise<{ rowsPerSec: number; rowBytes: number }>;
}

/** The swap point for stores: one case per kind. */
export async function storeFactory(kind: string, root: string): Promise<KernelStoreFactory> {
  switch (kind) {
    case "sqlite":
      return sqliteFactory(root);
    case "postgres":
      return postgresFactory(PG_URL, PG_POOL);
    default:
      throw new Error(`--store ${kind}: unknown store (known: sqlite, postgres)`);
  }
}

function sqliteFactory(root: string): KernelStoreFactory {
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
    const insert =
      db.prepare(`INSERT INTO entries (run_id, seq, kind, name, status, attempt, wake_at, value, error, ref, started_at, updated_at)
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
  let batchN = 0;
  const batchRate = async (label: string, rows: number, batchSize: number) => {
    const b = await raw(label);
    const batches = Math.ceil(rows / batchSize);
    const t = performance.now();
    for (let k = 0; k < batches; k++) {
      b.db.exec("BEGIN IMMEDIATE");
      for (let j = 0; j < batchSize; j++) b.put();
      b.db.exec("COMMIT");
    }
    const rowsPerSec = (batches * batchSize) / ((performance.now() - t) / 1000);
    const rowBytes = b.rowBytes();
    b.close();
    return { rowsPerSec, rowBytes };
  };
  return {
    kind: "sqlite",
    batchRate: (rows, batchSize) => batchRate(`batch${++batchN}`, rows, batchSize),
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
          const r = reader
            .prepare(
              `SELECT count(*) FILTER (WHERE status = 'completed') AS completed,
                    count(*) FILTER (WHERE status IN ('failed', 'cancelled')) AS failed, max(completed_at) AS last FROM runs`,
            )
            .get() as { completed: number; failed: number; last: number | null };
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
        const b = await batchRate(`limits-batch${r}`, cfg.batchRows, cfg.batchSize);
        rates.push(b.rowsPerSec);
        rowBytes = b.rowBytes;
      }
      const rs = summarize(rates);
      return {
        commitMs: summarize(commits),
        whatCommit: "raw node:sqlite: BEGIN IMMEDIATE; one journal-entry row INSERT; COMMIT (fsync), sequential",
        batchedRowsPerSec: rs.p50,
        batchedRowsPerSecRange: [rs.min, rs.max],
        whatBatched: `raw node:sqlite: plain INSERTs of journal-entry rows into a fresh file, ${cfg.batchSize} per transaction, as many rows as the throughput run's journal; median of ${cfg.batchReps} files`,
        rowBytes,
        details: {
          journal_mode: mode,
          synchronous: sync === 2 ? "full" : sync,
          table: "entries (the kernel's own schema)",
        },
      };
    },
    async dispose() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
