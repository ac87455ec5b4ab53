import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { NewRun } from "../types.ts";

/** Runs one statement inserts at most (21 values a row, far below SQLite's limit on variables). */
export const RUNS_PER_STATEMENT = 32;

const COLUMNS = `id, namespace, workflow, key, status, input, parent_id, parent_seq, epoch, lease_owner,
  lease_expires_at, wake_at, timeout_ms, deadline_at, created_at, updated_at, concurrency_key, concurrency_limit, queued, version, trace_parent`;

/** A run's row, in the order of COLUMNS: claimed by its writer if `claimed`, else pending (queued: waiting for its lane). */
export function runValues(r: NewRun, now: number, claimed: boolean, queued: boolean): (string | number | null)[] {
  const c = claimed ? r.claimedBy : null;
  const key = r.concurrencyKey ?? null;
  return [
    r.id,
    r.namespace,
    r.workflow,
    r.key,
    c ? "running" : "pending",
    r.input,
    r.parentId,
    r.parentSeq,
    c ? 1 : 0,
    c?.owner ?? null,
    c?.leaseExpiresAt ?? null,
    c || queued ? null : now,
    r.timeoutMs,
    r.timeoutMs === null ? null : now + r.timeoutMs,
    now,
    now,
    key,
    key === null ? null : (r.concurrencyLimit ?? 1),
    queued ? 1 : 0,
    r.version ?? null,
    r.traceParent ?? null,
  ];
}

/**
 * Runs with no concurrency lane inserted many to a statement. Measured: with the runs table's insert
 * trigger (the ended runs' counters) a statement inserting one run costs 40-130 µs, the same without the
 * trigger 4-11 µs, and 32 runs a statement 8-60 µs a run. The likely cause: a statement that can fire a
 * trigger inside a transaction gets a statement journal, which copies each page it changes first, and
 * 32 runs share their pages (the row's and its six index entries').
 * A statement's rows go in order, so of two runs with one key the first is inserted, as one statement
 * a run did. Runs with a lane go one at a time: each admission counts the runs inserted before it.
 */
export class RunInserts {
  readonly #db: DatabaseSync;
  /** The statement for n rows at [n - 1], prepared on first use. */
  readonly #statements: (StatementSync | undefined)[] = [];

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Inserts the runs (none with a lane); returns the ids inserted (the others' id or key was taken). */
  insert(runs: NewRun[], now: number): Set<string> {
    const inserted = new Set<string>();
    for (let i = 0; i < runs.length; i += RUNS_PER_STATEMENT) {
      const chunk = runs.slice(i, i + RUNS_PER_STATEMENT);
      const values: (string | number | null)[] = [];
      for (const r of chunk) values.push(...runValues(r, now, r.claimedBy !== null, false));
      for (const row of this.statement(chunk.length).all(...values) as { id: string }[]) inserted.add(row.id);
    }
    return inserted;
  }

  /** The statement inserting `n` runs. */
  statement(n: number): StatementSync {
    let st = this.#statements[n - 1];
    if (!st) {
      const row = `(${Array.from({ length: 21 }, () => "?").join(", ")})`;
      st = this.#db.prepare(
        `INSERT INTO runs (${COLUMNS}) VALUES ${Array(n).fill(row).join(", ")} ON CONFLICT DO NOTHING RETURNING id`,
      );
      this.#statements[n - 1] = st;
    }
    return st;
  }
}
