import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { RunFinishedError, RunNotFoundError, StoreClosedError } from "../../errors.ts";
import type {
  ClaimRequest,
  EntryRecord,
  EventInput,
  EventRecord,
  GroupResult,
  PurgeRequest,
  PurgeScope,
  RunFilter,
  RunRecord,
  SendEventResult,
  Store,
  Served,
  StoreStats,
  StreamChunk,
  WorkerRecord,
  WriteGroup,
} from "../types.ts";
import { isTerminal } from "../types.ts";
import type { DueSchedule, SchedulePlan, ScheduleRecord, TickRecord } from "../../schedule/types.ts";
import { toChunk, toEntry, toEvent, toRun, toWorker } from "../rows.ts";
import { planResume, retryRefused } from "../../resume-plan.ts";
import { prepareQueries } from "./statements.ts";
import { enableIncrementalVacuum, migrate } from "./schema.ts";
import { SqliteRetention } from "./retention.ts";
import { SqliteSchedules } from "./schedules.ts";
import { type FenceCache, SqliteWrites } from "./commit.ts";

export interface SqliteStoreOptions {
  /** Database file; created with its folder if missing. ":memory:" for a throwaway store. */
  path: string;
  /** "full" fsyncs every commit (durable across power loss); "normal" survives process crashes only. */
  synchronous?: "full" | "normal";
  /** How long a writer waits for another process's lock, in ms. */
  busyTimeoutMs?: number;
}

/** The embedded store: one SQLite file in WAL mode through the built-in `node:sqlite`. */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly stats: StoreStats = { commits: 0, reads: 0, rowsRead: 0 };
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #writes: SqliteWrites;
  readonly #schedules: SqliteSchedules;
  readonly #retention: SqliteRetention;
  readonly #q: Record<string, StatementSync>;
  #closed = false;
  /**
   * The leases of runs this connection claimed or inserted, so a commit need not read each run's row
   * to fence it. Valid while no other connection has written: PRAGMA data_version tells, and any
   * change there empties it.
   */
  readonly #fences: FenceCache = new Map();
  #dataVersion = -1;

  constructor(opts: SqliteStoreOptions) {
    this.path = opts.path;
    if (opts.path !== ":memory:") mkdirSync(dirname(opts.path), { recursive: true });
    this.#db = new DatabaseSync(opts.path);
    this.#db.exec(`PRAGMA busy_timeout = ${Math.trunc(opts.busyTimeoutMs ?? 10_000)}`);
    enableIncrementalVacuum(this.#db);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec(`PRAGMA synchronous = ${opts.synchronous === "normal" ? "NORMAL" : "FULL"}`);
    migrate(this.#db, opts.path);
    this.#retention = new SqliteRetention(this.#db);
    this.#writes = new SqliteWrites(this.#db);
    this.#schedules = new SqliteSchedules(this.#db, (run, now) => this.#writes.insert(run, now));
    this.#q = prepareQueries(this.#db);
  }

  async commit(groups: WriteGroup[], now: number): Promise<GroupResult[]> {
    this.#open();
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const dv = (this.#q.dataVersion!.get() as { data_version: number }).data_version;
      if (dv !== this.#dataVersion) {
        this.#fences.clear();
        this.#dataVersion = dv;
      }
      const out = this.#writes.applyAll(groups, now, this.#fences);
      this.#db.exec("COMMIT");
      this.stats.commits++;
      return out;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  async claim(req: ClaimRequest): Promise<RunRecord[]> {
    this.#open();
    if (req.limit <= 0 || Object.keys(req.workflows).length === 0) return [];
    const wf = JSON.stringify(req.workflows);
    const rows = this.#q.claim!.all(req.owner, req.now + req.leaseMs, req.now, wf, req.now, wf, req.now, wf, req.limit);
    this.stats.commits++;
    const runs = this.#rows(rows).map(toRun);
    for (const r of runs) this.#fences.set(r.id, { epoch: r.epoch, lease_owner: r.leaseOwner, status: "running" });
    return runs;
  }

  async renewLeases(owner: string, runs: { id: string; epoch: number }[], expiresAt: number): Promise<string[]> {
    this.#open();
    if (runs.length === 0) return [];
    const lost: string[] = [];
    this.#tx(() => {
      for (const r of runs)
        if (Number(this.#q.renew!.run(expiresAt, r.id, r.epoch, owner).changes) === 0) lost.push(r.id);
    });
    return lost;
  }

  async nextWakeAt(workflows: Served, owner: string): Promise<{ runs: number | null; schedules: number | null }> {
    this.#open();
    const wf = JSON.stringify(workflows);
    const row = this.#q.nextWake!.get(wf, wf, owner, wf) as { runs: number | null; schedules: number | null };
    this.stats.reads++;
    return { runs: row.runs, schedules: row.schedules };
  }

  async getRun(id: string): Promise<RunRecord | null> {
    this.#open();
    const row = this.#q.getRun!.get(id);
    this.#count(row ? 1 : 0);
    return row ? toRun(row) : null;
  }

  async getRuns(ids: string[]): Promise<RunRecord[]> {
    this.#open();
    if (ids.length === 0) return [];
    return this.#rows(this.#q.getRuns!.all(JSON.stringify(ids))).map(toRun);
  }

  async findRunByKey(workflow: string, key: string): Promise<RunRecord | null> {
    this.#open();
    const row = this.#q.byKey!.get(workflow, key);
    this.#count(row ? 1 : 0);
    return row ? toRun(row) : null;
  }

  async listRuns(f: RunFilter): Promise<RunRecord[]> {
    this.#open();
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.status !== undefined) {
      const s = Array.isArray(f.status) ? f.status : [f.status];
      where.push(`status IN (${s.map(() => "?").join(", ")})`);
      args.push(...s);
    }
    if (f.workflow !== undefined) where.push("workflow = ?"), args.push(f.workflow);
    if (f.namespace !== undefined) where.push("namespace = ?"), args.push(f.namespace);
    if (f.parentId !== undefined) where.push("parent_id = ?"), args.push(f.parentId);
    if (f.key !== undefined) where.push("key = ?"), args.push(f.key);
    if (f.since !== undefined) where.push("created_at >= ?"), args.push(f.since);
    // (created_at, id) below the cursor, written so the index on created_at still bounds the scan.
    if (f.before !== undefined && f.beforeId !== undefined)
      where.push("created_at <= ? AND (created_at < ? OR id < ?)"), args.push(f.before, f.before, f.beforeId);
    else if (f.before !== undefined) where.push("created_at < ?"), args.push(f.before);
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT ?`;
    return this.#rows(this.#db.prepare(sql).all(...args, f.limit ?? 100)).map(toRun);
  }

  async loadJournal(runId: string): Promise<EntryRecord[]> {
    this.#open();
    return this.#rows(this.#q.journal!.all(runId)).map(toEntry);
  }

  async loadEvents(runId: string): Promise<EventRecord[]> {
    this.#open();
    return this.#rows(this.#q.events!.all(runId)).map(toEvent);
  }

  async sendEvent(runId: string, ev: EventInput, now: number): Promise<SendEventResult> {
    this.#open();
    return this.#tx(() => {
      const row = this.#q.status!.get(runId) as { status: string } | undefined;
      if (!row) throw new RunNotFoundError(`with id ${runId}`);
      if (isTerminal(row.status)) throw new RunFinishedError(runId, row.status, `send event "${ev.name}" to`);
      const res = this.#q.insertEvent!.run(runId, ev.name, ev.eventId, ev.payload, now);
      if (Number(res.changes) === 0) return { delivered: false as const, runId, reason: "duplicate" as const };
      this.#q.wakeForEvent!.run(now, runId, ev.name);
      return { delivered: true as const, runId };
    });
  }

  async cancelRun(runId: string, now: number): Promise<string[]> {
    this.#open();
    return this.#tx(() => {
      const row = this.#q.status!.get(runId) as { status: string } | undefined;
      if (!row) throw new RunNotFoundError(`with id ${runId}`);
      if (isTerminal(row.status)) throw new RunFinishedError(runId, row.status, "cancel");
      const error = JSON.stringify({
        name: "CancelledError",
        message: `run ${runId} was cancelled`,
        code: "cancelled",
      });
      const ids = (this.#q.cancelTree!.all(runId, now, error) as { id: string }[]).map((r) => r.id);
      for (const id of ids) {
        this.#fences.delete(id);
        this.#writes.admitNext(id, now);
      }
      this.#q.wakeParentOf!.run(now, runId);
      return ids;
    });
  }

  async retryRun(runId: string, now: number): Promise<void> {
    this.#open();
    this.#fences.clear();
    this.#tx(() => this.#retry(runId, now));
  }

  #retry(runId: string, now: number): void {
    const row = this.#q.getRun!.get(runId);
    if (!row) throw new RunNotFoundError(`with id ${runId}`);
    const run = toRun(row);
    if (run.status !== "failed") throw retryRefused(runId, run.status);
    const plan = planResume(run, this.#q.journal!.all(runId).map(toEntry));
    // A failed child is resumed with its parent, so the parent's invoke waits for it again rather than starting a new one.
    for (const f of plan.invokes) {
      const child = this.#q.status!.get(f.childId) as { status: string } | undefined;
      if (child?.status === "failed") {
        this.#retry(f.childId, now);
        this.#q.reopenEntry!.run(now, runId, f.seq);
      } else plan.remove.push(f.seq);
    }
    for (const seq of plan.remove) {
      this.#q.deleteEntry!.run(runId, seq);
      this.#q.unconsume!.run(runId, seq);
    }
    this.#q.reopenRun!.run(now, now, runId);
    this.#q.wakeReopened!.run(now, runId);
  }

  async readStream(
    runId: string,
    from: number,
    limit: number,
  ): Promise<{ chunks: StreamChunk[]; first: number | null; last: number | null }> {
    this.#open();
    const ends = this.#q.streamEnds!.get(runId) as { first: number | null; last: number | null };
    return {
      chunks: this.#rows(this.#q.stream!.all(runId, from, limit)).map(toChunk),
      first: ends.first,
      last: ends.last,
    };
  }

  async countRuns(
    now: number,
    opts?: { byStatus?: boolean },
  ): Promise<{ byStatus: Record<string, number>; due: number }> {
    this.#open();
    const byStatus: Record<string, number> = {};
    if (opts?.byStatus ?? true)
      for (const r of this.#q.countByStatus!.all() as { status: string; n: number }[]) byStatus[r.status] = Number(r.n);
    return { byStatus, due: Number((this.#q.countDue!.get(now) as { n: number }).n) };
  }

  async heartbeat(w: WorkerRecord): Promise<void> {
    this.#open();
    this.#q.heartbeat!.run(w.id, JSON.stringify(w.workflows), w.startedAt, w.heartbeatAt);
  }

  async removeWorker(id: string): Promise<void> {
    this.#open();
    this.#q.removeWorker!.run(id);
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    this.#open();
    return this.#rows(this.#q.workers!.all()).map(toWorker);
  }

  async insertSchedule(s: ScheduleRecord): Promise<boolean> {
    this.#open();
    return this.#tx(() => this.#schedules.insert(s));
  }

  async updateSchedule(s: ScheduleRecord, ticks: TickRecord[] = []): Promise<boolean> {
    this.#open();
    return this.#tx(() => this.#schedules.update(s, ticks));
  }

  async deleteSchedule(id: string): Promise<boolean> {
    this.#open();
    return this.#tx(() => this.#schedules.delete(id));
  }

  async getSchedule(id: string): Promise<ScheduleRecord | null> {
    this.#open();
    return this.#schedules.get(id);
  }

  async listSchedules(filter: { namespace?: string }): Promise<ScheduleRecord[]> {
    this.#open();
    return this.#schedules.list(filter.namespace);
  }

  async listTicks(scheduleId: string, limit: number): Promise<TickRecord[]> {
    this.#open();
    return this.#schedules.ticks(scheduleId, limit);
  }

  async fireSchedules(
    now: number,
    limit: number,
    workflows: Served,
    plan: (s: DueSchedule) => SchedulePlan,
  ): Promise<{ started: number; claimed: string[] }> {
    this.#open();
    return this.#tx(() => this.#schedules.fire(now, limit, workflows, plan));
  }

  async deleteEndedRuns(req: PurgeRequest): Promise<number> {
    this.#open();
    return this.#tx(() => this.#retention.deleteEndedRuns(req));
  }

  async deleteOldTicks(scope: PurgeScope, before: number, limit: number): Promise<number> {
    this.#open();
    return this.#tx(() => this.#retention.deleteOldTicks(scope, before, limit));
  }

  /** Returns free pages to the file system, 256 at a time, letting other work in between. */
  async reclaimSpace(): Promise<number> {
    let freed = 0;
    for (;;) {
      this.#open();
      const n = this.#retention.vacuumStep(256);
      freed += n;
      if (n === 0) return freed;
      await new Promise((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.#db.exec("COMMIT");
      this.stats.commits++;
      return out;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  #rows<T>(rows: T[]): T[] {
    this.#count(rows.length);
    return rows;
  }

  #count(n: number): void {
    this.stats.reads++;
    this.stats.rowsRead += n;
  }

  #open(): void {
    if (this.#closed) throw new StoreClosedError();
  }
}

/** Opens (creating and migrating if needed) a SQLite store. */
export async function openSqliteStore(opts: SqliteStoreOptions | string): Promise<SqliteStore> {
  return new SqliteStore(typeof opts === "string" ? { path: opts } : opts);
}
