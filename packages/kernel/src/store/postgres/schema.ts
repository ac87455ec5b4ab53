import type pg from "pg";
import { SchemaTooNewError } from "../../errors.ts";
import { KERNEL_COMMIT_V4 } from "./commit.ts";

/**
 * Versioned migrations for Postgres, applied at start under an advisory lock (so many processes
 * starting at once migrate once). A database from an older version is upgraded; one from a newer
 * version is refused with both versions named.
 */
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
  lease_expires_at BIGINT,
  wake_at BIGINT,
  waiting TEXT,
  timeout_ms BIGINT,
  deadline_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  completed_at BIGINT
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
  wake_at BIGINT,
  value TEXT,
  error TEXT,
  ref TEXT,
  started_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE events (
  id BIGSERIAL PRIMARY KEY,
  run_id TEXT NOT NULL,
  name TEXT NOT NULL,
  event_id TEXT NOT NULL,
  payload TEXT,
  created_at BIGINT NOT NULL,
  consumed_seq INTEGER,
  UNIQUE (run_id, event_id)
);
CREATE INDEX events_pending ON events(run_id, id) WHERE consumed_seq IS NULL;

CREATE FUNCTION kernel_insert_run(r jsonb, now_ms bigint) RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE claimed boolean := jsonb_typeof(r->'claimedBy') = 'object'; n int;
BEGIN
  INSERT INTO runs (id, namespace, workflow, key, status, input, parent_id, parent_seq, epoch, lease_owner,
    lease_expires_at, wake_at, timeout_ms, deadline_at, created_at, updated_at)
  VALUES (r->>'id', r->>'namespace', r->>'workflow', r->>'key', CASE WHEN claimed THEN 'running' ELSE 'pending' END,
    r->>'input', r->>'parentId', (r->>'parentSeq')::int, CASE WHEN claimed THEN 1 ELSE 0 END,
    r->'claimedBy'->>'owner', (r->'claimedBy'->>'leaseExpiresAt')::bigint, CASE WHEN claimed THEN NULL ELSE now_ms END,
    (r->>'timeoutMs')::bigint, now_ms + (r->>'timeoutMs')::bigint, now_ms, now_ms)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n = 1;
END $f$;

-- Replaced by migration 3 (concurrency keys).
CREATE FUNCTION kernel_admit_next(ended text, now_ms bigint) RETURNS boolean LANGUAGE sql AS $f$ SELECT false $f$;

-- One round trip per group commit: every group fenced by its epoch under a row lock, applied in order.
CREATE FUNCTION kernel_commit(groups jsonb, now_ms bigint, channel text) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
  g jsonb; op jsonb; first jsonb; e jsonb; r record; out jsonb[] := '{}'; skip int; k int;
  existing text; wake bigint; notify boolean := false; streamed boolean; k2 int;
BEGIN
  -- Lock the batch's runs in id order first, as lease renewal does: the two never deadlock.
  PERFORM 1 FROM runs WHERE id IN (SELECT value->>'runId' FROM jsonb_array_elements(groups)) ORDER BY id FOR UPDATE;
  FOR g IN SELECT value FROM jsonb_array_elements(groups) LOOP
    skip := 0;
    first := g->'ops'->0;
    IF first->>'op' = 'insertRun' AND first->'run'->>'id' = g->>'runId' THEN
      IF NOT kernel_insert_run(first->'run', now_ms) THEN
        SELECT id INTO existing FROM runs WHERE workflow = first->'run'->>'workflow' AND key = first->'run'->>'key';
        out := out || jsonb_build_object('ok', false, 'reason', 'conflict', 'existingRunId', coalesce(existing, g->>'runId'));
        CONTINUE;
      END IF;
      IF jsonb_typeof(first->'run'->'claimedBy') <> 'object' THEN notify := true; END IF;
      skip := 1;
      IF (g->>'epoch')::int = 0 THEN
        out := out || '{"ok":true}'::jsonb;
        CONTINUE;
      END IF;
    END IF;
    SELECT epoch, lease_owner, status INTO r FROM runs WHERE id = g->>'runId' FOR UPDATE;
    IF NOT FOUND OR r.epoch <> (g->>'epoch')::int OR r.lease_owner IS DISTINCT FROM g->>'owner' OR r.status <> 'running' THEN
      out := out || '{"ok":false,"reason":"lease_lost"}'::jsonb;
      CONTINUE;
    END IF;
    k := 0;
    streamed := false;
    FOR op IN SELECT value FROM jsonb_array_elements(g->'ops') LOOP
      k := k + 1;
      CONTINUE WHEN k <= skip;
      CASE op->>'op'
        WHEN 'insertRun' THEN
          PERFORM kernel_insert_run(op->'run', now_ms);
          notify := true;
        WHEN 'putEntry' THEN
          e := op->'entry';
          INSERT INTO entries (run_id, seq, kind, name, status, attempt, wake_at, value, error, ref, started_at, updated_at)
          VALUES (g->>'runId', (e->>'seq')::int, e->>'kind', e->>'name', e->>'status', (e->>'attempt')::int,
            (e->>'wakeAt')::bigint, e->>'value', NULLIF(e->'error', 'null'::jsonb)::text, e->>'ref', (e->>'startedAt')::bigint, now_ms)
          ON CONFLICT (run_id, seq) DO UPDATE SET status = excluded.status, attempt = excluded.attempt,
            wake_at = excluded.wake_at, value = excluded.value, error = excluded.error, ref = excluded.ref, updated_at = excluded.updated_at;
        WHEN 'consumeEvent' THEN
          UPDATE events SET consumed_seq = (op->>'seq')::int WHERE id = (op->>'eventRowId')::bigint AND run_id = g->>'runId' AND consumed_seq IS NULL;
        WHEN 'suspend' THEN
          -- Due at once if what the run waits for already happened while it was executing.
          IF EXISTS (SELECT 1 FROM events ev WHERE ev.run_id = g->>'runId' AND ev.consumed_seq IS NULL
                     AND ev.name IN (SELECT jsonb_array_elements_text(op->'events')))
             OR EXISTS (SELECT 1 FROM runs c WHERE c.id IN (SELECT jsonb_array_elements_text(op->'children'))
                     AND c.status IN ('completed', 'failed', 'cancelled')) THEN
            wake := now_ms;
            notify := true;
          ELSE
            wake := (op->>'wakeAt')::bigint;
          END IF;
          UPDATE runs SET status = 'suspended', lease_owner = NULL, lease_expires_at = NULL, updated_at = now_ms,
            waiting = jsonb_build_object('events', op->'events', 'children', op->'children')::text, wake_at = wake
          WHERE id = g->>'runId';
        WHEN 'finish' THEN
          UPDATE runs SET status = op->>'status', output = op->>'output', error = NULLIF(op->'error', 'null'::jsonb)::text,
            completed_at = now_ms, updated_at = now_ms, lease_owner = NULL, lease_expires_at = NULL, wake_at = NULL, waiting = NULL
          WHERE id = g->>'runId';
          UPDATE runs SET wake_at = now_ms WHERE id = (SELECT parent_id FROM runs WHERE id = g->>'runId') AND status = 'suspended';
          IF FOUND THEN notify := true; END IF;
          IF kernel_admit_next(g->>'runId', now_ms) THEN notify := true; END IF;
        WHEN 'publish' THEN
          INSERT INTO stream_chunks (run_id, pos, seq, attempt, data, created_at)
          VALUES (g->>'runId', (SELECT coalesce(max(pos), 0) + 1 FROM stream_chunks WHERE run_id = g->>'runId'),
            (op->>'seq')::int, (op->>'attempt')::int, op->>'data', now_ms) RETURNING pos INTO k2;
          IF k2 % 1000 = 0 THEN
            DELETE FROM stream_chunks WHERE run_id = g->>'runId' AND pos <= k2 - (op->>'retain')::int;
          END IF;
          streamed := true;
        WHEN 'continueAsNew' THEN
          DELETE FROM entries WHERE run_id = g->>'runId';
          DELETE FROM events WHERE run_id = g->>'runId' AND consumed_seq IS NOT NULL;
          UPDATE runs SET input = op->>'input', generation = generation + 1, status = 'pending', lease_owner = NULL,
            lease_expires_at = NULL, wake_at = now_ms, waiting = NULL, updated_at = now_ms,
            deadline_at = CASE WHEN timeout_ms IS NULL THEN NULL ELSE now_ms + timeout_ms END
          WHERE id = g->>'runId';
          notify := true;
        WHEN 'release' THEN
          UPDATE runs SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, wake_at = now_ms, updated_at = now_ms
          WHERE id = g->>'runId';
          notify := true;
      END CASE;
    END LOOP;
    IF streamed THEN PERFORM pg_notify(channel || '_stream', g->>'runId'); END IF;
    out := out || '{"ok":true}'::jsonb;
  END LOOP;
  IF notify THEN PERFORM pg_notify(channel, ''); END IF;
  -- Collected as an array and converted once: appending to a jsonb array copies it every time.
  RETURN to_jsonb(out);
END $f$;
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
];

export const PG_SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;
const LOCK_KEY = 7_305_112_001; // advisory lock id for migrations

/** Applies the migrations this database lacks, up to `target` (the newest by default; older targets are for upgrade tests). */
export async function migratePostgres(client: pg.ClientBase, where: string, target = PG_SCHEMA_VERSION): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
    const { rows } = await client.query<{ v: number | null }>("SELECT max(version) AS v FROM schema_migrations");
    const current = rows[0]?.v ?? 0;
    if (current > PG_SCHEMA_VERSION) throw new SchemaTooNewError(where, current, PG_SCHEMA_VERSION);
    for (const m of MIGRATIONS) {
      if (m.version <= current || m.version > target) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [m.version, Date.now()]);
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  }
}
