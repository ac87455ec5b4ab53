import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { PurgeRequest, PurgeScope } from "../types.ts";

/** The scope's terms on a table aliased `t`: workflow, namespace (null: any) and their exceptions (JSON arrays). */
const SCOPE = `(?5 IS NULL OR t.workflow = ?5) AND (?6 IS NULL OR t.namespace = ?6)
  AND t.workflow NOT IN (SELECT value FROM json_each(?7)) AND t.namespace NOT IN (SELECT value FROM json_each(?8))`;

const scopeArgs = (s: PurgeScope) =>
  [s.workflow, s.namespace, JSON.stringify(s.exceptWorkflows), JSON.stringify(s.exceptNamespaces)] as const;

/**
 * Retention on SQLite, inside the caller's write transaction (kept short by the caller's batch size).
 * Candidates come from runs_status (status, created_at): a run that ended before the cutoff was also
 * created before it.
 */
export class SqliteRetention {
  readonly #db: DatabaseSync;
  readonly #pick: StatementSync;
  readonly #deletes: StatementSync[];
  readonly #oldTicks: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#pick = db.prepare(`SELECT t.id FROM runs t INDEXED BY runs_status
      WHERE t.status = ?1 AND t.created_at < ?2 AND t.completed_at < ?2 AND ${SCOPE}
        AND (t.parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM runs p WHERE p.id = t.parent_id AND p.status NOT IN ('completed', 'failed', 'cancelled')))
      ORDER BY t.created_at LIMIT ?3`);
    this.#deletes = ["entries", "events", "stream_chunks", "schedule_ticks"].map((t) =>
      db.prepare(`DELETE FROM ${t} WHERE run_id = ?`),
    );
    this.#deletes.push(db.prepare("DELETE FROM runs WHERE id = ?"));
    this.#oldTicks =
      db.prepare(`DELETE FROM schedule_ticks WHERE (schedule_id, tick_at) IN (SELECT q.schedule_id, q.tick_at FROM schedule_ticks q JOIN schedules t ON t.id = q.schedule_id
      WHERE q.run_id IS NULL AND q.status <> 'queued' AND q.fired_at < ?1 AND ${SCOPE} LIMIT ?2)`);
  }

  /** Every statement, by name (test/plans.test.ts checks their plans). */
  statements(): Record<string, StatementSync> {
    return { pickEnded: this.#pick, oldTicks: this.#oldTicks };
  }

  deleteEndedRuns(req: PurgeRequest): number {
    const rows = this.#pick.all(req.status, req.endedBefore, req.limit, null, ...scopeArgs(req)) as { id: string }[];
    for (const { id } of rows) for (const st of this.#deletes) st.run(id);
    return rows.length;
  }

  deleteOldTicks(scope: PurgeScope, before: number, limit: number): number {
    return Number(this.#oldTicks.run(before, limit, null, null, ...scopeArgs(scope)).changes);
  }

  /** Frees up to `pages` pages of the file's free list (auto_vacuum = INCREMENTAL); returns how many it freed. */
  vacuumStep(pages: number): number {
    const free = () =>
      Number((this.#db.prepare("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count);
    const before = free();
    if (before > 0) this.#db.exec(`PRAGMA incremental_vacuum(${Math.trunc(pages)})`);
    return before - free();
  }
}
