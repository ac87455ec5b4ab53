import type { DatabaseSync, StatementSync } from "node:sqlite";
import { TERMINAL_SQL } from "../types.ts";

/** The SQLite store's read, claim and administration statements, compiled once per connection. */
export function prepareQueries(db: DatabaseSync): Record<string, StatementSync> {
  const p = (sql: string) => db.prepare(sql);
  return {
    dataVersion: p("PRAGMA data_version"),
    getRun: p("SELECT * FROM runs WHERE id = ?"),
    getRuns: p("SELECT * FROM runs WHERE id IN (SELECT value FROM json_each(?))"),
    byKey: p("SELECT * FROM runs WHERE workflow = ? AND key = ?"),
    journal: p("SELECT * FROM entries WHERE run_id = ? ORDER BY seq"),
    events: p("SELECT * FROM events WHERE run_id = ? AND consumed_seq IS NULL ORDER BY id"),
    // Fair across namespaces: each namespace's due runs are ranked by due time, and a claim takes every
    // namespace's first before any namespace's second, so one tenant's flood cannot starve another's run.
    // INDEXED BY: without ANALYZE statistics SQLite prefers runs_status and scans every sleeping run.
    claim: p(`
      UPDATE runs SET status = 'running', epoch = epoch + 1, lease_owner = ?, lease_expires_at = ?, updated_at = ?, waiting = NULL,
        version = coalesce(version, (SELECT v.value FROM json_each(?) v WHERE v.key = runs.workflow))
      WHERE id IN (
        SELECT id FROM (
          SELECT id, t, row_number() OVER (PARTITION BY namespace ORDER BY t) AS rn FROM (
            SELECT id, namespace, wake_at AS t FROM runs INDEXED BY runs_wake WHERE status IN ('pending', 'suspended') AND wake_at <= ?
              AND EXISTS (SELECT 1 FROM json_each(?) v WHERE v.key = runs.workflow AND (runs.version IS NULL OR runs.version = v.value))
            UNION ALL
            SELECT id, namespace, lease_expires_at AS t FROM runs INDEXED BY runs_lease WHERE status = 'running' AND lease_expires_at <= ?
              AND EXISTS (SELECT 1 FROM json_each(?) v WHERE v.key = runs.workflow AND (runs.version IS NULL OR runs.version = v.value))))
        ORDER BY rn, t LIMIT ?)
      RETURNING *`),
    renew: p(
      "UPDATE runs SET lease_expires_at = ? WHERE id = ? AND epoch = ? AND lease_owner = ? AND status = 'running'",
    ),
    nextWake: p(`
      SELECT min(t) AS runs, (SELECT min(due_at) FROM schedules WHERE paused = 0
        AND EXISTS (SELECT 1 FROM json_each(?) v WHERE v.key = schedules.workflow)) AS schedules FROM (
        SELECT min(wake_at) AS t FROM runs INDEXED BY runs_wake WHERE status IN ('pending', 'suspended') AND wake_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM json_each(?) v WHERE v.key = runs.workflow AND (runs.version IS NULL OR runs.version = v.value))
        UNION ALL
        SELECT min(lease_expires_at) AS t FROM runs INDEXED BY runs_lease WHERE status = 'running' AND lease_owner != ?
          AND EXISTS (SELECT 1 FROM json_each(?) v WHERE v.key = runs.workflow AND (runs.version IS NULL OR runs.version = v.value)))`),
    heartbeat: p(`INSERT INTO workers (id, workflows, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET workflows = excluded.workflows, heartbeat_at = excluded.heartbeat_at`),
    removeWorker: p("DELETE FROM workers WHERE id = ?"),
    // Ended runs from their counters (kept by triggers), unfinished ones from runs_status: never every run.
    countByStatus: p(`SELECT status, n FROM run_counts WHERE n <> 0
      UNION ALL SELECT status, count(*) FROM runs INDEXED BY runs_status WHERE status IN ('pending', 'running', 'suspended') GROUP BY status`),
    countDue: p(
      "SELECT count(*) AS n FROM runs INDEXED BY runs_wake WHERE status IN ('pending', 'suspended') AND wake_at <= ?",
    ),
    stream: p("SELECT * FROM stream_chunks WHERE run_id = ? AND pos >= ? ORDER BY pos LIMIT ?"),
    streamEnds: p("SELECT min(pos) AS first, max(pos) AS last FROM stream_chunks WHERE run_id = ?"),
    workers: p("SELECT * FROM workers ORDER BY started_at"),
    status: p("SELECT status FROM runs WHERE id = ?"),
    insertEvent: p(`INSERT INTO events (run_id, name, event_id, payload, created_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (run_id, event_id) DO NOTHING`),
    wakeForEvent: p(`UPDATE runs SET wake_at = ? WHERE id = ? AND status = 'suspended'
      AND EXISTS (SELECT 1 FROM json_each(runs.waiting, '$.events') WHERE value = ?)`),
    cancelTree: p(`
      WITH RECURSIVE tree(id) AS (SELECT ?1 UNION ALL SELECT r.id FROM runs r JOIN tree t ON r.parent_id = t.id)
      UPDATE runs SET status = 'cancelled', epoch = epoch + 1, lease_owner = NULL, lease_expires_at = NULL,
        wake_at = NULL, waiting = NULL, error = ?3,
        -- Never before its last journal entry (a worker's clock may run ahead of the canceller's).
        completed_at = max(?2, coalesce((SELECT max(e.updated_at) FROM entries e WHERE e.run_id = runs.id), 0)),
        updated_at = max(?2, coalesce((SELECT max(e.updated_at) FROM entries e WHERE e.run_id = runs.id), 0))
      WHERE id IN (SELECT id FROM tree) AND status NOT IN ${TERMINAL_SQL} RETURNING id`),
    wakeParentOf: p(
      "UPDATE runs SET wake_at = ? WHERE id = (SELECT parent_id FROM runs WHERE id = ?) AND status = 'suspended'",
    ),
    reopenEntry: p("UPDATE entries SET status = 'waiting', error = NULL, updated_at = ? WHERE run_id = ? AND seq = ?"),
    deleteEntry: p("DELETE FROM entries WHERE run_id = ? AND seq = ?"),
    unconsume: p("UPDATE events SET consumed_seq = NULL WHERE run_id = ? AND consumed_seq = ?"),
    // A retried run takes a slot of its concurrency key again, or queues for one.
    reopenRun:
      p(`UPDATE runs SET status = 'pending', error = NULL, output = NULL, completed_at = NULL, queued = CASE WHEN concurrency_key IS NOT NULL AND (SELECT count(*) FROM runs o WHERE o.concurrency_key = runs.concurrency_key AND o.id <> runs.id
        AND o.status NOT IN ('completed', 'failed', 'cancelled')) >= concurrency_limit THEN 1 ELSE 0 END,
      updated_at = ?, deadline_at = CASE WHEN timeout_ms IS NULL THEN NULL ELSE ? + timeout_ms END WHERE id = ?`),
    wakeReopened: p("UPDATE runs SET wake_at = CASE WHEN queued = 1 THEN NULL ELSE ? END WHERE id = ?"),
  };
}
