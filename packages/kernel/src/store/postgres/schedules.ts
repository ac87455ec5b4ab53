import type pg from "pg";
import type { DueSchedule, SchedulePlan, ScheduleRecord, TickRecord } from "../../schedule/types.ts";
import type { Served } from "../types.ts";
import { SCHEDULE_COLUMNS, scheduleValues, toSchedule, toTick } from "../rows.ts";

type Q = <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, args?: unknown[]) => Promise<R[]>;
const MARKS = SCHEDULE_COLUMNS.split(",")
  .map((_, i) => `$${i + 1}`)
  .join(", ");

export async function insertSchedule(q: Q, s: ScheduleRecord): Promise<boolean> {
  const rows = await q(
    `INSERT INTO schedules (${SCHEDULE_COLUMNS}) VALUES (${MARKS}) ON CONFLICT DO NOTHING RETURNING id`,
    scheduleValues(s),
  );
  return rows.length === 1;
}

export async function updateSchedule(c: pg.ClientBase, s: ScheduleRecord, ticks: TickRecord[]): Promise<boolean> {
  const v = scheduleValues(s);
  const { rows } = await c.query(
    `UPDATE schedules SET namespace = $1, workflow = $2, cron = $3, timezone = $4, input = $5, overlap = $6, catch_up = $7,
       catch_up_max = $8, paused = $9, next_at = $10, due_at = $11, last_run_id = $12, updated_at = $13 WHERE id = $14 RETURNING id`,
    [...v.slice(1, 13), s.updatedAt, s.id],
  );
  if (rows.length !== 1) return false;
  for (const t of ticks) await insertTick(c, t);
  return true;
}

export async function listSchedules(q: Q, namespace: string | undefined): Promise<ScheduleRecord[]> {
  const rows =
    namespace === undefined
      ? await q("SELECT * FROM schedules ORDER BY id")
      : await q("SELECT * FROM schedules WHERE namespace = $1 ORDER BY id", [namespace]);
  return rows.map(toSchedule);
}

export async function listTicks(q: Q, id: string, limit: number): Promise<TickRecord[]> {
  return (
    await q("SELECT * FROM schedule_ticks WHERE schedule_id = $1 ORDER BY tick_at DESC LIMIT $2", [id, limit])
  ).map(toTick);
}

function insertTick(c: pg.ClientBase, t: TickRecord): Promise<unknown> {
  return c.query(
    "INSERT INTO schedule_ticks (schedule_id, tick_at, status, run_id, reason, fired_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    [t.scheduleId, t.tickAt, t.status, t.runId, t.reason, t.firedAt],
  );
}

/**
 * In the caller's transaction: locks due schedules (SKIP LOCKED: each is handled by one worker), plans
 * them, and applies every plan in a fixed number of statements whatever the number due (the runs, the
 * new ticks, the dequeued ticks, the schedules), so a worker keeps up with a thousand ticks a second
 * instead of paying three round trips for each one in turn. Each schedule's writes keep their order.
 */
export async function fireSchedules(
  c: pg.ClientBase,
  now: number,
  limit: number,
  workflows: Served,
  plan: (s: DueSchedule) => SchedulePlan,
): Promise<{ started: number; claimed: string[] }> {
  const { rows } = await c.query(
    `SELECT s.*, r.status AS last_run_status,
       (SELECT count(*) FROM schedule_ticks q WHERE q.schedule_id = s.id AND q.status = 'queued') AS queued,
       (SELECT min(tick_at) FROM schedule_ticks q WHERE q.schedule_id = s.id AND q.status = 'queued') AS oldest_queued
     FROM schedules s LEFT JOIN runs r ON r.id = s.last_run_id
     WHERE s.paused = 0 AND s.due_at <= $1 AND $3::jsonb ? s.workflow ORDER BY s.due_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED`,
    [now, limit, JSON.stringify(workflows)],
  );
  if (rows.length === 0) return { started: 0, claimed: [] };
  const planned = rows.map((row) => {
    const s: DueSchedule = {
      ...toSchedule(row),
      lastRunStatus: row.last_run_status ?? null,
      queued: Number(row.queued),
      oldestQueued: row.oldest_queued === null ? null : Number(row.oldest_queued),
    };
    return { s, p: plan(s) };
  });

  // The same insert as kernel.start(), for each run in order: the workflow's timeout and concurrency lane apply.
  // A lane's run may have to queue behind its lane, and kernel_insert_run does not say which it did: it goes unclaimed.
  const runs = planned.flatMap(({ p }) =>
    p.runs.map(({ run }) => (run.claimedBy && run.concurrencyKey != null ? { ...run, claimedBy: null } : run)),
  );
  const inserted = new Set<string>();
  if (runs.length > 0) {
    const res = await c.query<{ id: string; ok: boolean }>(
      `SELECT r.v->>'id' AS id, kernel_insert_run(r.v, $2) AS ok
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS r(v, n) ORDER BY r.n`,
      [JSON.stringify(runs), now],
    );
    for (const r of res.rows) if (r.ok) inserted.add(r.id);
  }

  const ticks = planned.flatMap(({ p }) => p.ticks);
  if (ticks.length > 0)
    await c.query(
      `INSERT INTO schedule_ticks (schedule_id, tick_at, status, run_id, reason, fired_at)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[])
       ON CONFLICT DO NOTHING`,
      [
        ticks.map((t) => t.scheduleId),
        ticks.map((t) => t.tickAt),
        ticks.map((t) => t.status),
        ticks.map((t) => t.runId),
        ticks.map((t) => t.reason),
        ticks.map((t) => t.firedAt),
      ],
    );

  const dequeued = planned.flatMap(({ p }) => p.dequeued);
  if (dequeued.length > 0)
    await c.query(
      `UPDATE schedule_ticks q SET status = x.status, run_id = x.run_id, reason = x.reason, fired_at = x.fired_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[])
         AS x(status, run_id, reason, fired_at, schedule_id, tick_at)
       WHERE q.schedule_id = x.schedule_id AND q.tick_at = x.tick_at`,
      [
        dequeued.map((t) => t.status),
        dequeued.map((t) => t.runId),
        dequeued.map((t) => t.reason),
        dequeued.map((t) => t.firedAt),
        dequeued.map((t) => t.scheduleId),
        dequeued.map((t) => t.tickAt),
      ],
    );

  // A tick whose run was started already (its insert conflicted) keeps naming the run it started.
  const lastRunIds = planned.map(({ s, p }) =>
    p.lastRunId !== null && p.runs.some(({ run }) => run.id === p.lastRunId) && !inserted.has(p.lastRunId)
      ? s.lastRunId
      : p.lastRunId,
  );
  await c.query(
    `UPDATE schedules s SET next_at = x.next_at, due_at = x.due_at, last_run_id = x.last_run_id, updated_at = $5
     FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) AS x(id, next_at, due_at, last_run_id)
     WHERE s.id = x.id`,
    [planned.map(({ s }) => s.id), planned.map(({ p }) => p.nextAt), planned.map(({ p }) => p.dueAt), lastRunIds, now],
  );
  return { started: inserted.size, claimed: runs.filter((r) => r.claimedBy && inserted.has(r.id)).map((r) => r.id) };
}
