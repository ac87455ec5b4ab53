import type pg from "pg";
import { SchemaTooNewError } from "../../errors.ts";
import { KERNEL_COMMIT_V10 } from "./commit.ts";
import { KERNEL_COMMIT_V9 } from "./commit-v9.ts";
import { KERNEL_COMMIT_V7 } from "./commit-v7.ts";
import { KERNEL_COMMIT_V4 } from "./commit-v4.ts";
import { RUN_COUNTS_V8 } from "./run-counts.ts";
import { SCHEMA_V1 } from "./schema-v1.ts";

/**
 * Versioned migrations for Postgres, applied at start under an advisory lock (so many processes
 * starting at once migrate once). A database from an older version is upgraded; one from a newer
 * version is refused with both versions named.
 */
const MIGRATIONS: { version: number; sql: string }[] = [
  { version: 1, sql: SCHEMA_V1 },
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
  next_at BIGINT,
  due_at BIGINT,
  last_run_id TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_due ON schedules(due_at) WHERE paused = 0;

CREATE TABLE schedule_ticks (
  schedule_id TEXT NOT NULL,
  tick_at BIGINT NOT NULL,
  status TEXT NOT NULL,
  run_id TEXT,
  reason TEXT,
  fired_at BIGINT NOT NULL,
  PRIMARY KEY (schedule_id, tick_at)
);
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
CREATE TABLE workers (id TEXT PRIMARY KEY, workflows TEXT NOT NULL, started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL);
-- Chunks a run's steps publish (tokens, progress), by position; only the newest are kept per run.
CREATE TABLE stream_chunks (run_id TEXT NOT NULL, pos INTEGER NOT NULL, seq INTEGER NOT NULL, attempt INTEGER NOT NULL, data TEXT NOT NULL,
  created_at BIGINT NOT NULL, PRIMARY KEY (run_id, pos));
CREATE INDEX runs_concurrency ON runs(concurrency_key, created_at, id) WHERE concurrency_key IS NOT NULL AND status NOT IN ('completed', 'failed', 'cancelled');

-- A run with a concurrency key is admitted (due) only while fewer than its limit of earlier runs with
-- that key are unfinished; otherwise it is queued, and each run that ends admits the next in line.
CREATE OR REPLACE FUNCTION kernel_insert_run(r jsonb, now_ms bigint) RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE claimed boolean := jsonb_typeof(r->'claimedBy') = 'object'; n int; ckey text := r->>'concurrencyKey'; waiting boolean := false;
BEGIN
  IF ckey IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext('kernel-concurrency:' || ckey));
    SELECT count(*) >= (r->>'concurrencyLimit')::int INTO waiting FROM (
      SELECT 1 FROM runs WHERE concurrency_key = ckey AND status NOT IN ('completed', 'failed', 'cancelled') LIMIT (r->>'concurrencyLimit')::int) x;
    claimed := claimed AND NOT waiting;
  END IF;
  INSERT INTO runs (id, namespace, workflow, key, status, input, parent_id, parent_seq, epoch, lease_owner,
    lease_expires_at, wake_at, timeout_ms, deadline_at, created_at, updated_at, concurrency_key, concurrency_limit, queued, version, trace_parent)
  VALUES (r->>'id', r->>'namespace', r->>'workflow', r->>'key', CASE WHEN claimed THEN 'running' ELSE 'pending' END,
    r->>'input', r->>'parentId', (r->>'parentSeq')::int, CASE WHEN claimed THEN 1 ELSE 0 END,
    CASE WHEN claimed THEN r->'claimedBy'->>'owner' END, CASE WHEN claimed THEN (r->'claimedBy'->>'leaseExpiresAt')::bigint END,
    CASE WHEN claimed OR waiting THEN NULL ELSE now_ms END,
    (r->>'timeoutMs')::bigint, now_ms + (r->>'timeoutMs')::bigint, now_ms, now_ms, ckey, (r->>'concurrencyLimit')::int,
    CASE WHEN waiting THEN 1 ELSE 0 END, r->>'version', r->>'traceParent')
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n = 1;
END $f$;

-- The run ended (or was cancelled) and held a slot of its concurrency key: the next queued run goes.
DROP FUNCTION kernel_admit_next(text, bigint);
CREATE FUNCTION kernel_admit_next(ended text, now_ms bigint) RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE ckey text; n int;
BEGIN
  SELECT concurrency_key INTO ckey FROM runs WHERE id = ended AND queued = 0;
  IF ckey IS NULL THEN RETURN false; END IF;
  PERFORM pg_advisory_xact_lock(hashtext('kernel-concurrency:' || ckey));
  UPDATE runs SET queued = 0, wake_at = now_ms, updated_at = now_ms WHERE id = (
    SELECT id FROM runs WHERE concurrency_key = ckey AND queued = 1 AND status = 'pending' ORDER BY created_at, id LIMIT 1);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n = 1;
END $f$;
`,
  },
  // kernel_commit reaches every row by index whatever the tables' size (version 1 scanned all runs once they were many).
  { version: 4, sql: KERNEL_COMMIT_V4 },
  {
    version: 5,
    // Retention deletes a run's tick records with it.
    sql: "CREATE INDEX schedule_ticks_run ON schedule_ticks(run_id) WHERE run_id IS NOT NULL;",
  },
  {
    version: 6,
    // A namespace's runs newest first (a tenant's runs list, its keyset pages): without it, a namespace
    // with few runs among many others' is found by reading everyone's. Its columns never change after
    // a run is inserted, so a run's status updates do not touch it.
    sql: "CREATE INDEX runs_namespace ON runs(namespace, created_at, id);",
  },
  // kernel_commit with fewer statements per call (the 3-step workflow's latency is four of them).
  { version: 7, sql: KERNEL_COMMIT_V7 },
  // Ended runs counted as they end: /metrics no longer reads every run.
  { version: 8, sql: RUN_COUNTS_V8 },
  // A batch takes its lanes in one order: two workers starting and ending runs of the same lanes never deadlock.
  { version: 9, sql: KERNEL_COMMIT_V9 },
  // Lanes stamped at each end: a turn's context read overlaps the commit that admits it (commit.ts says how).
  { version: 10, sql: KERNEL_COMMIT_V10 },
];

export const PG_SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;
const LOCK_KEY = 7_305_112_001; // advisory lock id for migrations

/** Applies the migrations this database lacks, up to `target` (the newest by default; older targets are for upgrade tests). */
export async function migratePostgres(client: pg.ClientBase, where: string, target = PG_SCHEMA_VERSION): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    );
    const { rows } = await client.query<{ v: number | null }>("SELECT max(version) AS v FROM schema_migrations");
    const current = rows[0]?.v ?? 0;
    if (current > PG_SCHEMA_VERSION) throw new SchemaTooNewError(where, current, PG_SCHEMA_VERSION);
    for (const m of MIGRATIONS) {
      if (m.version <= current || m.version > target) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [
        m.version,
        Date.now(),
      ]);
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  }
}
