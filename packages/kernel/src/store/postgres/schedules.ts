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

/** In the caller's transaction: locks due schedules (SKIP LOCKED: each is handled by one worker), plans and applies. */
export async function fireSchedules(
  c: pg.ClientBase,
  now: number,
  limit: number,
  workflows: Served,
  plan: (s: DueSchedule) => SchedulePlan,
): Promise<number> {
  const { rows } = await c.query(
    `SELECT s.*, r.status AS last_run_status,
       (SELECT count(*) FROM schedule_ticks q WHERE q.schedule_id = s.id AND q.status = 'queued') AS queued,
       (SELECT min(tick_at) FROM schedule_ticks q WHERE q.schedule_id = s.id AND q.status = 'queued') AS oldest_queued
     FROM schedules s LEFT JOIN runs r ON r.id = s.last_run_id
     WHERE s.paused = 0 AND s.due_at <= $1 AND $3::jsonb ? s.workflow ORDER BY s.due_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED`,
    [now, limit, JSON.stringify(workflows)],
  );
  let started = 0;
  for (const row of rows) {
    const s: DueSchedule = {
      ...toSchedule(row),
      lastRunStatus: row.last_run_status ?? null,
      queued: Number(row.queued),
      oldestQueued: row.oldest_queued === null ? null : Number(row.oldest_queued),
    };
    const p = plan(s);
    let lastRunId = p.lastRunId;
    for (const { run } of p.runs) {
      // The same insert as kernel.start(): the workflow's timeout and concurrency lane apply.
      const ins = await c.query<{ ok: boolean }>("SELECT kernel_insert_run($1::jsonb, $2) AS ok", [
        JSON.stringify(run),
        now,
      ]);
      if (ins.rows[0]?.ok) started++;
      else if (run.id === lastRunId) lastRunId = s.lastRunId; // its tick had started a run already: keep naming that one
    }
    for (const t of p.ticks) await insertTick(c, t);
    for (const t of p.dequeued)
      await c.query(
        "UPDATE schedule_ticks SET status = $1, run_id = $2, reason = $3, fired_at = $4 WHERE schedule_id = $5 AND tick_at = $6",
        [t.status, t.runId, t.reason, t.firedAt, t.scheduleId, t.tickAt],
      );
    await c.query("UPDATE schedules SET next_at = $1, due_at = $2, last_run_id = $3, updated_at = $4 WHERE id = $5", [
      p.nextAt,
      p.dueAt,
      lastRunId,
      now,
      s.id,
    ]);
  }
  return started;
}
