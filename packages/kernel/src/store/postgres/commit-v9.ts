/**
 * `kernel_commit` as of schema version 9, as migration 9 shipped it (commit.ts has the current one): version 7's (commit-v7.ts), but a batch of many groups takes
 * the concurrency lanes it inserts into or frees a slot of in one order (after its runs, in id order),
 * so two workers committing starts and ends of the same lanes never deadlock on them. What it
 * guarantees is version 4's, and like it every statement reaches its rows by equality on a key, never
 * by an estimate (commit-v4.ts says why; test/plans.test.ts checks the plans, test/commit-cost.test.ts
 * the statements per commit).
 */
export const KERNEL_COMMIT_V9 = `
CREATE OR REPLACE FUNCTION kernel_commit(groups jsonb, now_ms bigint, channel text) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
  g jsonb; op jsonb; ops jsonb; first jsonb; e jsonb; r record; out jsonb[] := '{}'; skip int; k int;
  existing text; wake bigint; notify boolean := false; streamed boolean; k2 int; rid text; i int;
  fenced boolean; parent text; lane text; ends boolean; lanes text[] := '{}'; h int;
BEGIN
  -- Lock the batch's runs in id order first, as lease renewal does: the two never deadlock. A batch of
  -- one group locks its one run below, with its fence.
  IF jsonb_array_length(groups) > 1 THEN
    FOR rid, ends IN SELECT value->>'runId', bool_or(value->'ops' @> '[{"op":"finish"}]') FROM jsonb_array_elements(groups)
                     GROUP BY 1 ORDER BY 1 LOOP
      SELECT concurrency_key INTO lane FROM runs WHERE id = rid FOR UPDATE;
      IF ends AND lane IS NOT NULL THEN lanes := lanes || lane; END IF;
    END LOOP;
    -- Then the lanes it takes a slot of (runs inserted) or frees one of (runs ending), in one order for
    -- every batch: two workers' batches, each starting or ending runs of the same lanes, otherwise lock
    -- them in opposite orders and one waits out the deadlock timeout to be rolled back. Runs, then lanes,
    -- is also the order of a cancel.
    FOR h IN SELECT DISTINCT hashtext('kernel-concurrency:' || bl) FROM (
        SELECT bo->'run'->>'concurrencyKey' FROM jsonb_array_elements(groups) bg, jsonb_array_elements(bg->'ops') bo
        WHERE bo->>'op' = 'insertRun' UNION ALL SELECT unnest(lanes)) x(bl)
      WHERE bl IS NOT NULL ORDER BY 1 LOOP
      PERFORM pg_advisory_xact_lock(h);
    END LOOP;
  END IF;
  -- Arrays walked by index: each step is a simple expression, not a query of its own.
  FOR i IN 0 .. jsonb_array_length(groups) - 1 LOOP
    g := groups->i;
    skip := 0;
    fenced := false;
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
      -- Inserted just now claimed by this group's owner at epoch 1 (no lane to queue in): that is its
      -- fence, and the new row is this transaction's until it commits. No need to read it back.
      fenced := coalesce(jsonb_typeof(first->'run'->'claimedBy') = 'object' AND first->'run'->>'concurrencyKey' IS NULL
        AND (g->>'epoch')::int = 1 AND g->>'owner' = first->'run'->'claimedBy'->>'owner', false);
      parent := first->'run'->>'parentId';
      lane := NULL;
    END IF;
    IF NOT fenced THEN
      -- Its parent and lane come with the fence: a run with neither ends in one statement.
      SELECT epoch, lease_owner, status, parent_id, concurrency_key INTO r FROM runs WHERE id = g->>'runId' FOR UPDATE;
      IF NOT FOUND OR r.epoch <> (g->>'epoch')::int OR r.lease_owner IS DISTINCT FROM g->>'owner' OR r.status <> 'running' THEN
        out := out || '{"ok":false,"reason":"lease_lost"}'::jsonb;
        CONTINUE;
      END IF;
      parent := r.parent_id;
      lane := r.concurrency_key;
    END IF;
    streamed := false;
    ops := g->'ops';
    FOR k IN skip .. jsonb_array_length(ops) - 1 LOOP
      op := ops->k;
      CASE op->>'op'
        WHEN 'insertRun' THEN
          PERFORM kernel_insert_run(op->'run', now_ms);
          notify := true;
        WHEN 'putEntry' THEN
          e := op->'entry';
          -- An entry written before (a step's result after its start) is updated in place: an upsert would
          -- lock the row it finds before updating it, one more WAL record.
          IF op->>'update' = 'true' THEN
            UPDATE entries SET status = e->>'status', attempt = (e->>'attempt')::int, wake_at = (e->>'wakeAt')::bigint,
              value = e->>'value', error = NULLIF(e->'error', 'null'::jsonb)::text, ref = e->>'ref', updated_at = now_ms
            WHERE run_id = g->>'runId' AND seq = (e->>'seq')::int;
            CONTINUE WHEN FOUND;
          END IF;
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
          IF parent IS NOT NULL THEN
            UPDATE runs SET wake_at = now_ms WHERE id = parent AND status = 'suspended';
            IF FOUND THEN notify := true; END IF;
          END IF;
          IF lane IS NOT NULL AND kernel_admit_next(g->>'runId', now_ms) THEN notify := true; END IF;
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
