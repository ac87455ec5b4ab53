import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { DueSchedule, SchedulePlan, ScheduleRecord, TickRecord } from "../../schedule/types.ts";
import { SCHEDULE_COLUMNS, scheduleValues, toSchedule, toTick } from "../rows.ts";
import type { NewRun, Served } from "../types.ts";

/** Schedules on SQLite. Firing runs inside the caller's write transaction, which SQLite makes exclusive. */
export class SqliteSchedules {
  readonly #db: DatabaseSync;
  readonly #q: Record<string, StatementSync>;
  /** kernel.start()'s insert, so a schedule's runs get the workflow's timeout and concurrency lane too. */
  readonly #insertRun: (run: NewRun, now: number) => "claimed" | "inserted" | "conflict";

  constructor(db: DatabaseSync, insertRun: (run: NewRun, now: number) => "claimed" | "inserted" | "conflict") {
    this.#db = db;
    this.#insertRun = insertRun;
    const p = (sql: string) => db.prepare(sql);
    const marks = SCHEDULE_COLUMNS.split(",")
      .map(() => "?")
      .join(", ");
    this.#q = {
      insert: p(`INSERT INTO schedules (${SCHEDULE_COLUMNS}) VALUES (${marks}) ON CONFLICT DO NOTHING`),
      update:
        p(`UPDATE schedules SET namespace = ?, workflow = ?, cron = ?, timezone = ?, input = ?, overlap = ?, catch_up = ?,
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
        WHERE s.paused = 0 AND s.due_at <= ? AND EXISTS (SELECT 1 FROM json_each(?) v WHERE v.key = s.workflow) ORDER BY s.due_at LIMIT ?`),
      insertTick: p(
        "INSERT INTO schedule_ticks (schedule_id, tick_at, status, run_id, reason, fired_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      ),
      dequeue: p(
        "UPDATE schedule_ticks SET status = ?, run_id = ?, reason = ?, fired_at = ? WHERE schedule_id = ? AND tick_at = ?",
      ),
      advance: p("UPDATE schedules SET next_at = ?, due_at = ?, last_run_id = ?, updated_at = ? WHERE id = ?"),
    };
  }

  insert(s: ScheduleRecord): boolean {
    return Number(this.#q.insert!.run(...scheduleValues(s)).changes) === 1;
  }

  update(s: ScheduleRecord, ticks: TickRecord[]): boolean {
    const v = scheduleValues(s);
    if (Number(this.#q.update!.run(...v.slice(1, 13), s.updatedAt, s.id).changes) !== 1) return false;
    for (const t of ticks) this.#q.insertTick!.run(t.scheduleId, t.tickAt, t.status, t.runId, t.reason, t.firedAt);
    return true;
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
    const rows =
      namespace === undefined
        ? this.#db.prepare("SELECT * FROM schedules ORDER BY id").all()
        : this.#db.prepare("SELECT * FROM schedules WHERE namespace = ? ORDER BY id").all(namespace);
    return rows.map(toSchedule);
  }

  ticks(id: string, limit: number): TickRecord[] {
    return this.#q.ticks!.all(id, limit).map(toTick);
  }

  /** Inside a write transaction: plans and applies every due schedule. Returns the runs started, and those inserted claimed. */
  fire(
    now: number,
    limit: number,
    workflows: Served,
    plan: (s: DueSchedule) => SchedulePlan,
  ): { started: number; claimed: string[] } {
    let started = 0;
    const claimed: string[] = [];
    for (const row of this.#q.due!.all(now, JSON.stringify(workflows), limit)) {
      const s: DueSchedule = {
        ...toSchedule(row),
        lastRunStatus: row.last_run_status === null ? null : String(row.last_run_status),
        queued: Number(row.queued),
        oldestQueued: row.oldest_queued === null ? null : Number(row.oldest_queued),
      };
      const p = plan(s);
      let lastRunId = p.lastRunId;
      for (const { run } of p.runs) {
        // A lane's run goes unclaimed, as on Postgres (it may have to queue behind its lane).
        const r = run.claimedBy && run.concurrencyKey != null ? { ...run, claimedBy: null } : run;
        const res = this.#insertRun(r, now);
        if (res === "claimed") claimed.push(r.id);
        if (res !== "conflict") started++;
        else if (run.id === lastRunId) lastRunId = s.lastRunId; // its tick had started a run already: keep naming that one
      }
      for (const t of p.ticks) this.#q.insertTick!.run(t.scheduleId, t.tickAt, t.status, t.runId, t.reason, t.firedAt);
      for (const t of p.dequeued) this.#q.dequeue!.run(t.status, t.runId, t.reason, t.firedAt, t.scheduleId, t.tickAt);
      this.#q.advance!.run(p.nextAt, p.dueAt, lastRunId, now, s.id);
    }
    return { started, claimed };
  }
}
