import type pg from "pg";
import type { PurgeRequest, PurgeScope } from "../types.ts";

/**
 * Retention on Postgres, each inside the caller's transaction. Candidates come from runs_status
 * (status, created_at) in creation order: a run ended after it was created, so every run that ended
 * before the cutoff was also created before it. Rows another transaction holds are skipped, not waited for.
 */

/** The scope's terms on runs (or schedules) aliased `t`, from parameter `$from` on: workflow, namespace, their exceptions. */
function scopeSql(from: number): string {
  return `($${from}::text IS NULL OR t.workflow = $${from}) AND ($${from + 1}::text IS NULL OR t.namespace = $${from + 1})
    AND NOT (t.workflow = ANY($${from + 2}::text[])) AND NOT (t.namespace = ANY($${from + 3}::text[]))`;
}

export const scopeArgs = (s: PurgeScope) => [s.workflow, s.namespace, s.exceptWorkflows, s.exceptNamespaces];

/** The runs a batch deletes, locked (those another transaction holds are skipped). */
export const PICK = `SELECT t.id FROM runs t
  WHERE t.status = $1 AND t.created_at < $2 AND t.completed_at < $2 AND ${scopeSql(4)}
    -- The parent (if still there) has ended; a scalar subquery looks it up by id (NOT EXISTS may be planned as a scan of every unfinished run).
    AND (t.parent_id IS NULL OR coalesce((SELECT p.status FROM runs p WHERE p.id = t.parent_id), 'completed') IN ('completed', 'failed', 'cancelled'))
  ORDER BY t.status, t.created_at LIMIT $3 FOR UPDATE OF t SKIP LOCKED`;

export async function deleteEndedRuns(c: pg.ClientBase, req: PurgeRequest): Promise<number> {
  const ids = (
    await c.query<{ id: string }>(PICK, [req.status, req.endedBefore, req.limit, ...scopeArgs(req)])
  ).rows.map((r) => r.id);
  if (ids.length === 0) return 0;
  for (const t of ["entries", "events", "stream_chunks", "schedule_ticks"])
    await c.query(`DELETE FROM ${t} WHERE run_id = ANY($1::text[])`, [ids]);
  const gone = await c.query<{ k: string | null }>(
    "DELETE FROM runs WHERE id = ANY($1::text[]) RETURNING concurrency_key AS k",
    [ids],
  );
  const lanes = [...new Set(gone.rows.flatMap((r) => (r.k === null ? [] : [r.k])))];
  if (lanes.length > 0) await c.query(FORGET_LANES, [lanes]);
  return gone.rowCount ?? 0;
}

/**
 * The end stamps of lanes whose deleted runs were theirs and that run nothing now: a lane's row goes
 * once its runs do, not kept for every session ever. Always safe: a worker that saw the deleted stamp
 * finds none (or a new one from the sequence) at its next run's admission, and its early read is made
 * again (commit.ts). Its unfinished runs are found by their index (runs_concurrency).
 */
export const FORGET_LANES = `DELETE FROM kernel_lanes l WHERE l.key = ANY($1::text[]) AND NOT EXISTS (
  SELECT 1 FROM runs r WHERE r.concurrency_key = l.key AND r.status NOT IN ('completed', 'failed', 'cancelled'))`;

export async function deleteOldTicks(
  c: pg.ClientBase,
  scope: PurgeScope,
  before: number,
  limit: number,
): Promise<number> {
  const res = await c.query(
    `WITH old AS (SELECT q.schedule_id, q.tick_at FROM schedule_ticks q JOIN schedules t ON t.id = q.schedule_id
       WHERE q.run_id IS NULL AND q.status <> 'queued' AND q.fired_at < $1 AND ${scopeSql(3)} LIMIT $2 FOR UPDATE OF q SKIP LOCKED)
     DELETE FROM schedule_ticks d USING old WHERE d.schedule_id = old.schedule_id AND d.tick_at = old.tick_at`,
    [before, limit, ...scopeArgs(scope)],
  );
  return res.rowCount ?? 0;
}
