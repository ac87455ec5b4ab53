import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { DueSchedule, SchedulePlan, ScheduleRecord, TickRecord } from "../../schedule/types.ts";
import { SCHEDULE_COLUMNS, scheduleValues, toSchedule, toTick } from "../rows.ts";

/** Schedules on SQLite. Firing runs inside the caller's write transaction, which SQLite makes exclusive. */
export class SqliteSchedules {
  readonly #db: DatabaseSync;
  readonly #q: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    const marks = SCHEDULE_COLUMNS.split(",").map(() => "?").join(", ");
    this.#q = {
      insert: p(`INSERT INTO schedules (${SCHEDULE_COLUMNS}) VALUES (${marks}) ON CONFLICT DO NOTHING`),
      update: p(`UPDATE schedules SET namespace = ?, workflow = ?, cron = ?, timezone = ?, input = ?, overlap = ?, catch_up = ?,
        catch_up_max = ?, paused = ?, next_at = ?, due_at = ?, last_run_id = ?, updated_at = ? WHERE id = ?`),
      delete: p("DELETE FROM schedules WHERE id = ?"),
      deleteTicks: p("DELETE FROM schedule_ticks WHERE schedule_id = ?"),
      get: p("SELECT * FROM schedules WHERE id = ?"),
      ticks: p("SELECT * FROM schedule_ticks WHERE schedule_id = ? ORDER BY tick_at DESC LIMIT ?"),
      due: p(`
        SELECT s.*, r.status AS last_run_status,
          (SELECT count(*) FROM schedule_ticks q WHERE q.schedule_id = s.id AND q.status = 'queued') AS queued,
          (SELECT min(tick_at) FROM schedule_ticks q WHERE q.schedule_id = s.id AND q.status = 'queued') AS oldest_queued
        FROM schedules s LEFT JOIN runs r ON r.id = s.last_run_id
        WHERE s.paused = 0 AND s.due_at <= ? ORDER BY s.due_at LIMIT ?`),
      insertRun: p(`INSERT INTO runs (id, namespace, workflow, key, status, input, epoch, wake_at, created_at, updated_at)
        VALUES (?, ?, ?, ?, 'pending', ?, 0, ?, ?, ?) ON CONFLICT DO NOTHING`),
      insertTick: p("INSERT INTO schedule_ticks (schedule_id, tick_at, status, run_id, reason, fired_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
      dequeue: p("UPDATE schedule_ticks SET status = 'started', run_id = ?, reason = NULL, fired_at = ? WHERE schedule_id = ? AND tick_at = ?"),
      advance: p("UPDATE schedules SET next_at = ?, due_at = ?, last_run_id = ?, updated_at = ? WHERE id = ?"),
    };
  }

  insert(s: ScheduleRecord): boolean {
    return Number(this.#q.insert!.run(...scheduleValues(s)).changes) === 1;
  }

  update(s: ScheduleRecord): boolean {
    const v = scheduleValues(s);
    return Number(this.#q.update!.run(...v.slice(1, 13), s.updatedAt, s.id).changes) === 1;
  }

  delete(id: string): boolean {
    this.#q.deleteTicks!.run(id);
    return Number(this.#q.delete!.run(id).changes) === 1;
  }

  get(id: string): ScheduleRecord | null {
    const row = this.#q.get!.get(id);
    return row ? toSchedule(row) : null;
  }

  list(namespace: string | undefined): ScheduleRecord[] {
    const rows = namespace === undefined
      ? this.#db.prepare("SELECT * FROM schedules ORDER BY id").all()
      : this.#db.prepare("SELECT * FROM schedules WHERE namespace = ? ORDER BY id").all(namespace);
    return rows.map(toSchedule);
  }

  ticks(id: string, limit: number): TickRecord[] {
    return this.#q.ticks!.all(id, limit).map(toTick);
  }

  /** Inside a write transaction: plans and applies every due schedule. Returns the runs started. */
  fire(now: number, limit: number, plan: (s: DueSchedule) => SchedulePlan): number {
    let started = 0;
    for (const row of this.#q.due!.all(now, limit)) {
      const s: DueSchedule = {
        ...toSchedule(row),
        lastRunStatus: row.last_run_status === null ? null : String(row.last_run_status),
        queued: Number(row.queued),
        oldestQueued: row.oldest_queued === null ? null : Number(row.oldest_queued),
      };
      const p = plan(s);
      for (const r of p.runs) {
        if (Number(this.#q.insertRun!.run(r.id, s.namespace, s.workflow, r.key, s.input, now, now, now).changes) === 1) started++;
      }
      for (const t of p.ticks) this.#q.insertTick!.run(t.scheduleId, t.tickAt, t.status, t.runId, t.reason, t.firedAt);
      for (const t of p.dequeued) this.#q.dequeue!.run(t.runId, t.firedAt, t.scheduleId, t.tickAt);
      this.#q.advance!.run(p.nextAt, p.dueAt, p.lastRunId, now, s.id);
    }
    return started;
  }
}
