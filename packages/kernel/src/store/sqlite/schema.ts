import type { DatabaseSync } from "node:sqlite";
import { SchemaTooNewError } from "../../errors.ts";

/**
 * Versioned migrations. Each runs once, in order, inside a transaction; a database written by a
 * newer kernel is refused rather than guessed at. Never edit a shipped migration: add the next one.
 */
const ENDED = "('completed', 'failed', 'cancelled')";

const MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  workflow TEXT NOT NULL,
  key TEXT,
  status TEXT NOT NULL,
  input TEXT,
  output TEXT,
  error TEXT,
  parent_id TEXT,
  parent_seq INTEGER,
  epoch INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  wake_at INTEGER,
  waiting TEXT,
  timeout_ms INTEGER,
  deadline_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  completed_at INTEGER
);
CREATE UNIQUE INDEX runs_key ON runs(workflow, key) WHERE key IS NOT NULL;
CREATE INDEX runs_wake ON runs(wake_at) WHERE status IN ('pending', 'suspended');
CREATE INDEX runs_lease ON runs(lease_expires_at) WHERE status = 'running';
CREATE INDEX runs_status ON runs(status, created_at);
CREATE INDEX runs_created ON runs(created_at);
CREATE INDEX runs_parent ON runs(parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE entries (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  wake_at INTEGER,
  value TEXT,
  error TEXT,
  ref TEXT,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  name TEXT NOT NULL,
  event_id TEXT NOT NULL,
  payload TEXT,
  created_at INTEGER NOT NULL,
  consumed_seq INTEGER,
  UNIQUE (run_id, event_id)
);
CREATE INDEX events_pending ON events(run_id, id) WHERE consumed_seq IS NULL;
`,
  },
  {
    version: 2,
    sql: `
CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  workflow TEXT NOT NULL,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  input TEXT,
  overlap TEXT NOT NULL,
  catch_up TEXT NOT NULL,
  catch_up_max INTEGER NOT NULL,
  paused INTEGER NOT NULL,
  next_at INTEGER,
  due_at INTEGER,
  last_run_id TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX schedules_due ON schedules(due_at) WHERE paused = 0;

CREATE TABLE schedule_ticks (
  schedule_id TEXT NOT NULL,
  tick_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  run_id TEXT,
  reason TEXT,
  fired_at INTEGER NOT NULL,
  PRIMARY KEY (schedule_id, tick_at)
) WITHOUT ROWID;
CREATE INDEX schedule_ticks_queued ON schedule_ticks(schedule_id, tick_at) WHERE status = 'queued';
`,
  },
  {
    version: 3,
    sql: `
ALTER TABLE runs ADD COLUMN concurrency_key TEXT;
ALTER TABLE runs ADD COLUMN concurrency_limit INTEGER;
-- 1 while the run waits for a slot of its concurrency key (it is not due then).
ALTER TABLE runs ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
-- How many times the run continued as new (each time with fresh input and an empty journal).
ALTER TABLE runs ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
-- The version of its workflow a run is pinned to (set at start, or by the first worker to claim it).
ALTER TABLE runs ADD COLUMN version TEXT;
-- W3C traceparent of the span that started the run: all its executions' spans join that trace.
ALTER TABLE runs ADD COLUMN trace_parent TEXT;
-- Live workers and the workflow versions they execute, refreshed with their lease renewals.
CREATE TABLE workers (id TEXT PRIMARY KEY, workflows TEXT NOT NULL, started_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL);
-- Chunks a run's steps publish (tokens, progress), by position; only the newest are kept per run.
CREATE TABLE stream_chunks (run_id TEXT NOT NULL, pos INTEGER NOT NULL, seq INTEGER NOT NULL, attempt INTEGER NOT NULL, data TEXT NOT NULL,
  created_at INTEGER NOT NULL, PRIMARY KEY (run_id, pos)) WITHOUT ROWID;
CREATE INDEX runs_concurrency ON runs(concurrency_key, created_at, id) WHERE concurrency_key IS NOT NULL AND status NOT IN ('completed', 'failed', 'cancelled');
`,
  },
  {
    version: 4,
    // Retention deletes a run's tick records with it.
    sql: "CREATE INDEX schedule_ticks_run ON schedule_ticks(run_id) WHERE run_id IS NOT NULL;",
  },
  {
    version: 5,
    // A namespace's runs newest first (a tenant's runs list, its keyset pages): without it, a namespace
    // with few runs among many others' is found by reading everyone's. Its columns never change after
    // a run is inserted, so a run's status updates do not touch it.
    sql: "CREATE INDEX runs_namespace ON runs(namespace, created_at, id);",
  },
  {
    version: 6,
    // Ended runs counted as they end, by triggers on every change into or out of an ended status (a
    // commit, a cancel, a retry, retention's deletes): /metrics reads three rows, not every run.
    // Unfinished runs are few and counted from their index. One writer at a time: one row per status.
    sql: `
CREATE TABLE run_counts (status TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO run_counts (status, n) SELECT s.value, (SELECT count(*) FROM runs WHERE status = s.value)
  FROM json_each('["completed","failed","cancelled"]') s;
CREATE TRIGGER runs_count_insert AFTER INSERT ON runs WHEN NEW.status IN ${ENDED} BEGIN
  UPDATE run_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER runs_count_update AFTER UPDATE OF status ON runs
  WHEN OLD.status IS NOT NEW.status AND (OLD.status IN ${ENDED} OR NEW.status IN ${ENDED}) BEGIN
  UPDATE run_counts SET n = n - 1 WHERE status = OLD.status;
  UPDATE run_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER runs_count_delete AFTER DELETE ON runs WHEN OLD.status IN ${ENDED} BEGIN
  UPDATE run_counts SET n = n - 1 WHERE status = OLD.status;
END;
`,
  },
  {
    version: 7,
    // A namespace's runs of one status newest first (a tenant's runs list filtered by status): by
    // runs_namespace alone, a status none of the tenant's runs has read all of them (185 ms at
    // 100,000). It costs a write on each status change, a few microseconds beside the commit's fsync.
    sql: "CREATE INDEX runs_namespace_status ON runs(namespace, status, created_at, id);",
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/**
 * Space freed by retention goes back to the file system with `PRAGMA incremental_vacuum`, which needs
 * auto_vacuum = INCREMENTAL. A new file gets it before its first table; a file made without it is
 * rewritten once (VACUUM, about a second per few hundred MB) on the first open that can have it to
 * itself, and left as it is (to try again on the next open) while another connection is busy with it.
 */
export function enableIncrementalVacuum(db: DatabaseSync): void {
  const mode = () => Number((db.prepare("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum);
  if (mode() === 2) return;
  db.exec("PRAGMA auto_vacuum = INCREMENTAL");
  const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number };
  if (Number(tables.n) === 0 || mode() === 2) return;
  try {
    db.exec("VACUUM");
  } catch (e) {
    if (!/locked|busy/i.test(String(e))) throw e;
  }
}

/**
 * Applies the migrations this database lacks, up to `target` (the newest by default; older targets
 * are for upgrade tests), all in one transaction: all or none, and one commit (one fsync) for a new
 * file rather than one per migration.
 */
export function migrate(db: DatabaseSync, file: string, target = SCHEMA_VERSION): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const current = () =>
    (db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number | null }).v ?? 0;
  const lacking = (from: number) => MIGRATIONS.filter((m) => m.version > from && m.version <= target);
  const seen = current();
  if (seen > SCHEMA_VERSION) throw new SchemaTooNewError(file, seen, SCHEMA_VERSION);
  if (lacking(seen).length === 0) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    // Read again under the write lock: another process may have migrated the file meanwhile.
    for (const m of lacking(current())) {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(m.version, Date.now());
    }
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}
