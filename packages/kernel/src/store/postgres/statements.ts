/**
 * The Postgres store's statements on the run path, in one place so test/plans.test.ts can check that
 * each reaches its rows through an index on tables of a million runs. Arrays of ids come as typed
 * array parameters (`= ANY($n::text[])`), whose length the planner sees, never as
 * `IN (SELECT * FROM unnest(...))`, which it guesses at 100 rows and answers with a scan of every run.
 */

/**
 * Fair across namespaces: each namespace's due runs are ranked by due time, and a claim takes every
 * namespace's first before any namespace's second. A row another worker locked is skipped; one it
 * claimed meanwhile fails the re-check in the UPDATE.
 * $1 owner, $2 lease expiry, $3 now, $4 limit, $5 served workflows (jsonb name → version).
 */
export const CLAIM = `WITH due AS (
    SELECT id, namespace, coalesce(wake_at, lease_expires_at) AS t FROM runs
    WHERE $5::jsonb ? workflow AND (version IS NULL OR version = $5::jsonb ->> workflow)
      AND ((status IN ('pending', 'suspended') AND wake_at <= $3) OR (status = 'running' AND lease_expires_at <= $3))),
  ranked AS (SELECT id, t, row_number() OVER (PARTITION BY namespace ORDER BY t) AS rn FROM due ORDER BY rn, t LIMIT $4 * 4),
  c AS (SELECT r.id FROM runs r JOIN ranked k ON k.id = r.id ORDER BY k.rn, k.t LIMIT $4 FOR UPDATE OF r SKIP LOCKED)
  UPDATE runs r SET status = 'running', epoch = r.epoch + 1, lease_owner = $1, lease_expires_at = $2, updated_at = $3, waiting = NULL,
    version = coalesce(r.version, $5::jsonb ->> r.workflow)
  FROM c WHERE r.id = c.id
    AND ((r.status IN ('pending', 'suspended') AND r.wake_at <= $3) OR (r.status = 'running' AND r.lease_expires_at <= $3))
  RETURNING r.*`;

/**
 * Extends this owner's leases, in id order and skipping rows a commit of ours holds right now:
 * renewing must never deadlock with committing. $1 expiry, $2 owner, $3 ids, $4 epochs by id (jsonb).
 */
export const RENEW = `WITH c AS (SELECT id FROM runs WHERE id = ANY($3::text[]) AND lease_owner = $2 AND status = 'running'
    AND epoch = ($4::jsonb ->> id)::int ORDER BY id FOR UPDATE SKIP LOCKED)
  UPDATE runs SET lease_expires_at = $1 FROM c WHERE runs.id = c.id RETURNING runs.id`;

/**
 * One run RENEW skipped because a commit held its row (a run streaming tokens commits all the time):
 * renewed alone, waiting for that commit. A statement that holds no other lock cannot deadlock. $1 expiry, $2 owner, $3 id, $4 epoch.
 */
export const RENEW_ONE = `UPDATE runs SET lease_expires_at = $1 WHERE id = $3 AND lease_owner = $2 AND status = 'running' AND epoch = $4 RETURNING id`;

/** When some served run is next due, or another owner's lease next expires; and the next due schedule. $1 served, $2 owner. */
export const NEXT_WAKE = `SELECT least(
    (SELECT min(wake_at) FROM runs WHERE status IN ('pending', 'suspended') AND wake_at IS NOT NULL
       AND $1::jsonb ? workflow AND (version IS NULL OR version = $1::jsonb ->> workflow)),
    (SELECT min(lease_expires_at) FROM runs WHERE status = 'running' AND lease_owner <> $2
       AND $1::jsonb ? workflow AND (version IS NULL OR version = $1::jsonb ->> workflow))) AS runs,
  (SELECT min(due_at) FROM schedules WHERE paused = 0 AND $1::jsonb ? workflow) AS schedules`;

/**
 * Cancels a run and its unfinished descendants; returns their ids. Each level's children are looked up
 * by parent id in a LATERAL subquery (OFFSET 0 keeps it one: flattened into a join, it may be planned
 * as a scan of every run). $1 run id, $2 now, $3 the stored error.
 */
/** Locks a run and its descendants first, so CANCEL_TREE then reads every commit that held one of their rows. */
export const LOCK_TREE = `WITH RECURSIVE tree(id) AS (
    SELECT $1::text UNION ALL SELECT c.id FROM tree t CROSS JOIN LATERAL (SELECT r.id FROM runs r WHERE r.parent_id = t.id OFFSET 0) c)
  SELECT id FROM runs WHERE id = ANY(ARRAY(SELECT id FROM tree)) ORDER BY id FOR UPDATE`;

export const CANCEL_TREE = `WITH RECURSIVE tree(id) AS (
    SELECT $1::text UNION ALL SELECT c.id FROM tree t CROSS JOIN LATERAL (SELECT r.id FROM runs r WHERE r.parent_id = t.id OFFSET 0) c)
  UPDATE runs SET status = 'cancelled', epoch = epoch + 1, lease_owner = NULL, lease_expires_at = NULL,
    wake_at = NULL, waiting = NULL, error = $3,
    -- Never before its last journal entry: a commit that held the row when $2 was read, or a worker's clock ahead of ours.
    completed_at = greatest($2, (SELECT max(e.updated_at) FROM entries e WHERE e.run_id = runs.id)),
    updated_at = greatest($2, (SELECT max(e.updated_at) FROM entries e WHERE e.run_id = runs.id))
  WHERE id = ANY(ARRAY(SELECT id FROM tree)) AND status NOT IN ('completed', 'failed', 'cancelled') RETURNING id`;

export const GET_RUN = "SELECT * FROM runs WHERE id = $1";
export const GET_RUNS = "SELECT * FROM runs WHERE id = ANY($1::text[])";
export const BY_KEY = "SELECT * FROM runs WHERE workflow = $1 AND key = $2";
export const JOURNAL = "SELECT * FROM entries WHERE run_id = $1 ORDER BY seq";
export const EVENTS = "SELECT * FROM events WHERE run_id = $1 AND consumed_seq IS NULL ORDER BY id";

/** A run's epochs by id, as RENEW takes them. */
export function epochsById(runs: { id: string; epoch: number }[]): string {
  return JSON.stringify(Object.fromEntries(runs.map((r) => [r.id, r.epoch])));
}
