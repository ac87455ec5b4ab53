/**
 * Every laned run that ends (and frees a slot) stamps its lane with a number from one sequence, under
 * the lane's lock; the commit that admits a run reports the lane's stamp as it found it. A process that
 * saw a lane's stamp (from the end of its previous run) can let a new run's read-only first step read
 * before the insert commits: if the stamp is unchanged at admission, no run of the lane ended meanwhile,
 * so the read is what it would have been once admitted (otherwise it is made again). A sequence, not a
 * count: a lane row deleted and made again never repeats a stamp.
 *
 * `kernel_start_run` is `kernel_insert_run` (migration 3's, kept as it is for the schedules' inserts)
 * saying what it did (inserted, inserted claimed, the lane's stamp), so `kernel_commit` no longer reads
 * back and locks a laned run it has just inserted claimed. `kernel_lane_end` is `kernel_admit_next`
 * stamping the lane; `kernel_admit_next` (a cancel's) now calls it, so every end that frees a slot stamps.
 */
const LANE_ENDS = `
CREATE SEQUENCE kernel_lane_ends;
CREATE TABLE kernel_lanes (key TEXT PRIMARY KEY, last_end BIGINT NOT NULL);

-- One number, so a caller's plpgsql takes it as a plain expression (no query of its own): -2 not inserted
-- (the key names another run), -1 inserted not claimed (unclaimed, or queued behind its lane), 0 inserted
-- claimed and no stamp to report (no lane, or none of its runs ended yet), else the lane's stamp.
CREATE FUNCTION kernel_start_run(r jsonb, now_ms bigint) RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE n int; ckey text := r->>'concurrencyKey'; waiting boolean := false; lane_end bigint;
  claimed boolean := jsonb_typeof(r->'claimedBy') = 'object';
BEGIN
  IF ckey IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext('kernel-concurrency:' || ckey));
    SELECT count(*) >= (r->>'concurrencyLimit')::int, (SELECT l.last_end FROM kernel_lanes l WHERE l.key = ckey)
    INTO waiting, lane_end FROM (
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
  IF n = 0 THEN RETURN -2; END IF;
  IF NOT claimed THEN RETURN -1; END IF;
  RETURN coalesce(lane_end, 0);
END $f$;

-- The run ended (or was cancelled) and held a slot of its lane: the lane is stamped, the next queued run
-- goes. Returns the stamp, negated if a queued run was admitted (workers are told), or 0 if no slot was freed.
-- A run that ends while running held its slot: kernel_commit, which has just read its lane, passes it.
CREATE FUNCTION kernel_lane_end(ended text, now_ms bigint, held text) RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE ckey text := held; n int; lane_end bigint;
BEGIN
  IF ckey IS NULL THEN SELECT concurrency_key INTO ckey FROM runs WHERE id = ended AND queued = 0; END IF;
  IF ckey IS NULL THEN RETURN 0; END IF;
  PERFORM pg_advisory_xact_lock(hashtext('kernel-concurrency:' || ckey));
  UPDATE kernel_lanes SET last_end = nextval('kernel_lane_ends') WHERE key = ckey RETURNING last_end INTO lane_end;
  IF NOT FOUND THEN
    INSERT INTO kernel_lanes (key, last_end) VALUES (ckey, nextval('kernel_lane_ends')) RETURNING last_end INTO lane_end;
  END IF;
  UPDATE runs SET queued = 0, wake_at = now_ms, updated_at = now_ms WHERE id = (
    SELECT id FROM runs WHERE concurrency_key = ckey AND queued = 1 AND status = 'pending' ORDER BY created_at, id LIMIT 1);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN CASE WHEN n = 1 THEN -lane_end ELSE lane_end END;
END $f$;

CREATE OR REPLACE FUNCTION kernel_admit_next(ended text, now_ms bigint) RETURNS boolean LANGUAGE sql AS
  'SELECT kernel_lane_end(ended, now_ms, NULL) < 0';
`;

/**
 * `kernel_commit` as of schema version 10: version 9's (commit-v9.ts), but a run inserted claimed by its
 * lane is fenced by its insert (not read back and locked), the group that admits a laned run answers the
 * lane's last stamp (`laneSeen`), and the one that ends it the new stamp (`laneEnd`). What it guarantees
 * is version 4's, and like it every statement reaches its rows by equality on a key, never by an
 * estimate (commit-v4.ts says why; test/plans.test.ts checks the plans, test/commit-cost.test.ts the
 * statements per commit).
 */
export const KERNEL_COMMIT_V10 = `
${LANE_ENDS}
CREATE OR REPLACE FUNCTION kernel_commit(groups jsonb, now_ms bigint, channel text) RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
  g jsonb; op jsonb; ops jsonb; first jsonb; e jsonb; r record; out jsonb[] := '{}'; skip int; k int;
  existing text; wake bigint; notify boolean := false; streamed boolean; k2 int; rid text; i int;
  fenced boolean; parent text; lane text; ends boolean; lanes text[] := '{}'; h int; st bigint; res jsonb;
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
    res := '{"ok":true}';
    skip := 0;
    fenced := false;
    first := g->'ops'->0;
    IF first->>'op' = 'insertRun' AND first->'run'->>'id' = g->>'runId' THEN
      st := kernel_start_run(first->'run', now_ms);
      IF st = -2 THEN
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
      -- Inserted just now claimed by this group's owner at epoch 1 (admitted by its lane, if it has one):
      -- that is its fence, and the new row is this transaction's until it commits. No need to read it back.
      fenced := coalesce(st >= 0 AND (g->>'epoch')::int = 1 AND g->>'owner' = first->'run'->'claimedBy'->>'owner', false);
      parent := first->'run'->>'parentId';
      lane := first->'run'->>'concurrencyKey';
      -- The lane's last end as the commit admitting the run saw it (Execution.admission says why).
      IF st > 0 THEN res := jsonb_build_object('ok', true, 'laneSeen', st); END IF;
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
          IF lane IS NOT NULL THEN
            st := kernel_lane_end(g->>'runId', now_ms, lane);
            IF st < 0 THEN notify := true; END IF;
            IF st <> 0 THEN res := res || jsonb_build_object('laneEnd', abs(st)); END IF;
          END IF;
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
    out := out || res;
  END LOOP;
  IF notify THEN PERFORM pg_notify(channel, ''); END IF;
  -- Collected as an array and converted once: appending to a jsonb array copies it every time.
  RETURN to_jsonb(out);
END $f$;
`;
