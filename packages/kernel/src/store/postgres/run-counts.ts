import type pg from "pg";

/**
 * Runs by status without reading every run (`/metrics`, the telemetry gauges, `/health`'s due count).
 * Unfinished runs are few and indexed: they are counted from `runs_status` and `runs_wake`. Ended runs
 * pile up, so they are counted as they end: a trigger appends a +1 or -1 to `run_count_deltas` for every
 * change of a run into or out of an ended status, by whatever statement (a commit, a cancel, a retry,
 * retention's deletes, a bulk insert). Appending never waits for another writer and never rewrites a
 * row many times in one transaction (a counter row updated once per run would: 100,000 versions of one
 * row for a bulk insert, each found by walking the ones before). Reading folds the deltas into
 * `run_counts` (one row per ended status) and sums both, in one snapshot.
 */
const ENDED = "('completed', 'failed', 'cancelled')";

/** Migration 8: the counters, their trigger, and the counts of the runs already stored. */
export const RUN_COUNTS_V8 = `
CREATE TABLE run_counts (status TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE run_count_deltas (status TEXT NOT NULL, n INTEGER NOT NULL);
CREATE FUNCTION kernel_count_ended() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.status IN ${ENDED} THEN INSERT INTO run_count_deltas VALUES (OLD.status, -1); END IF;
  IF TG_OP <> 'DELETE' AND NEW.status IN ${ENDED} THEN INSERT INTO run_count_deltas VALUES (NEW.status, 1); END IF;
  RETURN NULL;
END $f$;
-- The WHEN clauses are checked without calling the function: claims, renewals and steps cost nothing here.
CREATE TRIGGER runs_count_insert AFTER INSERT ON runs FOR EACH ROW
  WHEN (NEW.status IN ${ENDED}) EXECUTE FUNCTION kernel_count_ended();
CREATE TRIGGER runs_count_update AFTER UPDATE OF status ON runs FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND (OLD.status IN ${ENDED} OR NEW.status IN ${ENDED}))
  EXECUTE FUNCTION kernel_count_ended();
CREATE TRIGGER runs_count_delete AFTER DELETE ON runs FOR EACH ROW
  WHEN (OLD.status IN ${ENDED}) EXECUTE FUNCTION kernel_count_ended();
-- After the triggers: their lock on runs waits for writers in flight and holds off new ones until this
-- migration commits, so the count below and the triggers' deltas neither miss nor double a run.
INSERT INTO run_counts (status, n) SELECT s, (SELECT count(*) FROM runs WHERE status = s) FROM unnest(ARRAY['completed', 'failed', 'cancelled']) s;
`;

/**
 * The deltas committed so far, moved into run_counts. One fold at a time (another finds the lock taken
 * and leaves the deltas for the next read); writers only append, so none waits for a fold.
 */
export const FOLD = `WITH go AS (SELECT pg_try_advisory_xact_lock(7305112002) AS ok),
  gone AS (DELETE FROM run_count_deltas WHERE (SELECT ok FROM go) RETURNING status, n)
  UPDATE run_counts c SET n = c.n + d.n FROM (SELECT status, sum(n) AS n FROM gone GROUP BY status) d WHERE c.status = d.status`;

/** Ended runs from the counters, unfinished ones from their index, and the due ones; in one snapshot. $1 now. */
export const COUNTS = `SELECT status, sum(n)::bigint AS n FROM (SELECT status, n FROM run_counts UNION ALL SELECT status, n FROM run_count_deltas) c GROUP BY status
  UNION ALL SELECT status, count(*) FROM runs WHERE status IN ('pending', 'running', 'suspended') GROUP BY status
  UNION ALL SELECT '', count(*) FROM runs WHERE status IN ('pending', 'suspended') AND wake_at <= $1`;

type Q = <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, args?: unknown[]) => Promise<R[]>;

/** Due runs alone, from runs_wake (`/health`, asked often). $1 now. */
export const DUE = "SELECT count(*) AS n FROM runs WHERE status IN ('pending', 'suspended') AND wake_at <= $1";

export async function countRuns(
  q: Q,
  now: number,
  opts: { byStatus?: boolean } = {},
): Promise<{ byStatus: Record<string, number>; due: number }> {
  if (!(opts.byStatus ?? true)) return { byStatus: {}, due: Number((await q<{ n: string }>(DUE, [now]))[0]?.n ?? 0) };
  await q(FOLD);
  const byStatus: Record<string, number> = {};
  let due = 0;
  for (const r of await q<{ status: string; n: string | number }>(COUNTS, [now])) {
    if (r.status === "") due = Number(r.n);
    else if (Number(r.n) !== 0) byStatus[r.status] = Number(r.n);
  }
  return { byStatus, due };
}
