/**
 * The first Postgres schema (migration 1): runs, journal entries, events, and kernel_commit, the
 * function one group commit calls (replaced by migration 4's, in commit.ts). Applied by schema.ts;
 * never edited once released: a change is a new migration.
 */
export const SCHEMA_V1 = `
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
`;
