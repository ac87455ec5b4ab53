/**
 * `kernel_commit` as of schema version 4 (migration 4's SQL, never edited: version 7's in commit-v7.ts
 * replaces it): one round trip per group commit, every group fenced by its epoch under a row lock,
 * applied in order.
 *
 * Every statement here reaches the runs it touches through an index, whatever the tables' size and
 * statistics. plpgsql caches a generic plan per statement after a few calls, chosen when the table may
 * still have been empty; so no statement may depend on an estimate to pick its index. Rows are reached
 * by equality on a key (one lookup per id, in a loop or a scalar subquery), never by
 * `IN (SELECT <set-returning function>)`, whose 100-row guess makes a sequential scan look cheaper.
 * test/plans.test.ts checks the plans on large tables, with and without statistics.
 */
export const KERNEL_COMMIT_V4 = `
CREATE OR REPLACE FUNCTION kernel_commit(groups jsonb, now_ms bigint, channel text) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
  g jsonb; op jsonb; first jsonb; e jsonb; r record; out jsonb[] := '{}'; skip int; k int;
  existing text; wake bigint; notify boolean := false; streamed boolean; k2 int; rid text;
BEGIN
  -- Lock the batch's runs in id order first, as lease renewal does: the two never deadlock.
  FOR rid IN SELECT DISTINCT value->>'runId' FROM jsonb_array_elements(groups) ORDER BY 1 LOOP
    PERFORM 1 FROM runs WHERE id = rid FOR UPDATE;
  END LOOP;
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
          -- Due at once if what the run waits for already happened while it was executing. Each child is
          -- looked up by id in a scalar subquery: a join could be planned as a scan of every run.
          IF EXISTS (SELECT 1 FROM events ev WHERE ev.run_id = g->>'runId' AND ev.consumed_seq IS NULL AND (op->'events') ? ev.name)
             OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(op->'children') ch(id)
                        WHERE (SELECT c.status FROM runs c WHERE c.id = ch.id) IN ('completed', 'failed', 'cancelled')) THEN
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
