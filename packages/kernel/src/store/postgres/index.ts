import pg from "pg";
import { InvalidArgumentError, StoreClosedError } from "../../errors.ts";
import type { DueSchedule, SchedulePlan, ScheduleRecord, TickRecord } from "../../schedule/types.ts";
import { toEntry, toEvent, toRun, toSchedule, toWorker } from "../rows.ts";
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
import { connectionError, describeUrl, isInvalidUrl, pgTypes, redact } from "./connect.ts";
import { Listener } from "./listen.ts";
import * as admin from "./run-admin.ts";
import { countRuns, FOLD } from "./run-counts.ts";
import * as side from "./streams-workers.ts";
import * as retention from "./retention.ts";
import * as sched from "./schedules.ts";
import { migratePostgres } from "./schema.ts";
import * as sql from "./statements.ts";

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database (DATABASE_URL). */
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Schema that holds the kernel's tables (default "public"); created if missing. */
  schema?: string;
}

const CHANNEL = "agentd_kernel_work";

/**
 * The multi-node store: any number of workers share one Postgres. Claims use FOR UPDATE SKIP LOCKED,
 * a group commit is one call of a server-side function that fences every group under a row lock,
 * and new work is announced with NOTIFY.
 */
export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly stats: StoreStats = { commits: 0, reads: 0, rowsRead: 0 };
  readonly where: string;
  readonly #pool: pg.Pool;
  readonly #listener: Listener;
  readonly #streamListener: Listener;
  readonly #channel: string;
  #closed = false;

  private constructor(pool: pg.Pool, listener: Listener, streamListener: Listener, channel: string, where: string) {
    this.#pool = pool;
    this.#listener = listener;
    this.#streamListener = streamListener;
    this.#channel = channel;
    this.where = where;
  }

  /** Connects, creates the schema if needed and applies migrations. Throws one clear error if the server can't be used. */
  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    if (typeof opts.url !== "string" || isInvalidUrl(opts.url))
      throw new InvalidArgumentError(
        `DATABASE_URL must look like postgres://user:password@host:5432/database, got ${JSON.stringify(redact(opts.url))}.`,
      );
    const schema = opts.schema ?? "public";
    // 40 at most: the NOTIFY channels are named after the schema, and Postgres limits names to 63 bytes.
    if (!/^[a-z_][a-z0-9_]{0,39}$/.test(schema))
      throw new InvalidArgumentError(
        `schema name ${JSON.stringify(schema)} must be a lower-case SQL identifier of at most 40 characters.`,
      );
    const base: pg.ClientConfig = {
      connectionString: opts.url,
      types: pgTypes,
      options: `-c search_path=${schema}`,
      connectionTimeoutMillis: 10_000,
    };
    const pool = new pg.Pool({ ...base, max: opts.poolSize ?? 10, idleTimeoutMillis: 30_000 });
    // An idle client whose server went away must not crash the process; the pool replaces it.
    pool.on("error", () => {});
    const where = describeUrl(opts.url).where;
    try {
      const client = await pool.connect();
      client.on("error", () => {});
      try {
        if (schema !== "public") await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await migratePostgres(client, `postgres ${where} (schema ${schema})`);
      } finally {
        client.release();
      }
    } catch (e) {
      await pool.end().catch(() => {});
      if ((e as { code?: string }).code === "schema_too_new") throw e;
      throw connectionError(opts.url, e);
    }
    const channel = `${CHANNEL}_${schema}`;
    return new PostgresStore(
      pool,
      new Listener(base, channel),
      new Listener(base, `${channel}_stream`),
      channel,
      where,
    );
  }

  /** Calls `fn` whenever another process (or this one) commits runnable work. */
  onWork(fn: () => void): () => void {
    return this.#listener.subscribe(fn);
  }

  async commit(groups: WriteGroup[], now: number): Promise<GroupResult[]> {
    // A named statement: each connection parses and plans it once, not on every commit.
    if (this.#closed) throw new StoreClosedError();
    // Groups that publish learn their chunks' positions in the same statement (streams-workers.ts).
    const pub = side.publishing(groups);
    const { rows } = await this.#pool.query<{ r: GroupResult[]; bases?: unknown[] }>(
      pub
        ? side.commitStreamed(groups, now, this.#channel, pub)
        : {
            name: "kernel_commit",
            text: "SELECT kernel_commit($1::jsonb, $2, $3) AS r",
            values: [JSON.stringify(groups), now, this.#channel],
          },
    );
    this.stats.commits++;
    const results = rows[0]?.r ?? [];
    if (pub) side.placeChunks(results, pub, rows[0]?.bases);
    return results;
  }

  async claim(req: ClaimRequest): Promise<RunRecord[]> {
    if (req.limit <= 0 || Object.keys(req.workflows).length === 0) return [];
    const { rows } = await this.#q(sql.CLAIM, [
      req.owner,
      req.now + req.leaseMs,
      req.now,
      req.limit,
      JSON.stringify(req.workflows),
    ]);
    this.stats.commits++;
    return this.#count(rows).map(toRun);
  }

  async renewLeases(owner: string, runs: { id: string; epoch: number }[], expiresAt: number): Promise<string[]> {
    if (runs.length === 0) return [];
    const { rows } = await this.#q<{ id: string }>(sql.RENEW, [
      expiresAt,
      owner,
      runs.map((r) => r.id),
      sql.epochsById(runs),
    ]);
    const kept = new Set(rows.map((r) => r.id));
    const unsure = runs.filter((r) => !kept.has(r.id));
    if (unsure.length === 0) return [];
    // Skipped rows are locked by a commit, or no longer ours: those still ours are renewed one by one,
    // each waiting only for the commit that holds it (so a busy run's lease does not run out under it).
    const lost: string[] = [];
    for (const r of unsure) {
      const renewed = await this.#rows<{ id: string }>(sql.RENEW_ONE, [expiresAt, owner, r.id, r.epoch]);
      if (renewed.length === 0) lost.push(r.id);
    }
    return lost;
  }

  async nextWakeAt(workflows: Served, owner: string): Promise<{ runs: number | null; schedules: number | null }> {
    const { rows } = await this.#q<{ runs: number | null; schedules: number | null }>(sql.NEXT_WAKE, [
      JSON.stringify(workflows),
      owner,
    ]);
    this.stats.reads++;
    return { runs: rows[0]?.runs ?? null, schedules: rows[0]?.schedules ?? null };
  }

  async getRun(id: string): Promise<RunRecord | null> {
    const { rows } = await this.#q(sql.GET_RUN, [id]);
    return this.#count(rows).map(toRun)[0] ?? null;
  }

  async getRuns(ids: string[]): Promise<RunRecord[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.#q(sql.GET_RUNS, [ids]);
    return this.#count(rows).map(toRun);
  }

  async findRunByKey(workflow: string, key: string): Promise<RunRecord | null> {
    const { rows } = await this.#q(sql.BY_KEY, [workflow, key]);
    return this.#count(rows).map(toRun)[0] ?? null;
  }

  async listRuns(f: RunFilter): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => (args.push(v), where.push(sql.replace("?", `$${args.length}`)));
    if (f.status !== undefined) add("status = ANY(?::text[])", Array.isArray(f.status) ? f.status : [f.status]);
    if (f.workflow !== undefined) add("workflow = ?", f.workflow);
    if (f.namespace !== undefined) add("namespace = ?", f.namespace);
    if (f.parentId !== undefined) add("parent_id = ?", f.parentId);
    if (f.key !== undefined) add("key = ?", f.key);
    if (f.since !== undefined) add("created_at >= ?", f.since);
    // (created_at, id) below the cursor: a row comparison Postgres bounds with the index on created_at.
    if (f.before !== undefined && f.beforeId !== undefined) {
      args.push(f.before, f.beforeId);
      where.push(`created_at <= $${args.length - 1} AND (created_at, id) < ($${args.length - 1}, $${args.length})`);
    } else if (f.before !== undefined) add("created_at < ?", f.before);
    args.push(f.limit ?? 100);
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT $${args.length}`;
    const { rows } = await this.#q(sql, args);
    return this.#count(rows).map(toRun);
  }

  async loadJournal(runId: string): Promise<EntryRecord[]> {
    const { rows } = await this.#q(sql.JOURNAL, [runId]);
    return this.#count(rows).map(toEntry);
  }

  async loadEvents(runId: string): Promise<EventRecord[]> {
    const { rows } = await this.#q(sql.EVENTS, [runId]);
    return this.#count(rows).map(toEvent);
  }

  async sendEvent(runId: string, ev: EventInput, now: number): Promise<SendEventResult> {
    return this.#tx((c) => admin.sendEvent(c, this.#channel, runId, ev, now));
  }

  async cancelRun(runId: string, now: number): Promise<string[]> {
    return this.#tx((c) => admin.cancelRun(c, this.#channel, runId, now));
  }

  async retryRun(runId: string, now: number): Promise<void> {
    await this.#tx((c) => admin.retryRun(c, this.#channel, runId, now));
  }

  async readStream(
    runId: string,
    from: number,
    limit: number,
  ): Promise<{ chunks: StreamChunk[]; first: number | null; last: number | null }> {
    const out = await side.readStream(this.#rows, runId, from, limit);
    this.#count(out.chunks);
    return out;
  }

  /** Calls `fn(runId)` when any process publishes to a run's stream. */
  onStream(fn: (runId: string) => void): () => void {
    return this.#streamListener.subscribe(fn);
  }

  async countRuns(
    now: number,
    opts?: { byStatus?: boolean },
  ): Promise<{ byStatus: Record<string, number>; due: number }> {
    return countRuns(this.#rows, now, opts);
  }

  /** Also folds the ended-run counters' deltas, so they stay a few seconds' worth between reads of the counts. */
  async heartbeat(w: WorkerRecord): Promise<void> {
    await side.heartbeat(this.#rows, w);
    await this.#rows(FOLD);
  }

  async removeWorker(id: string): Promise<void> {
    await this.#rows("DELETE FROM workers WHERE id = $1", [id]);
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    return (await this.#rows("SELECT * FROM workers ORDER BY started_at")).map(toWorker);
  }

  // A changed schedule is announced like new work: every worker re-reads when the next one is due.
  async insertSchedule(s: ScheduleRecord): Promise<boolean> {
    const ok = await sched.insertSchedule(this.#rows, s);
    if (ok) await this.#q("SELECT pg_notify($1, '')", [this.#channel]);
    return ok;
  }

  async updateSchedule(s: ScheduleRecord, ticks: TickRecord[] = []): Promise<boolean> {
    return this.#tx(async (c) => {
      const ok = await sched.updateSchedule(c, s, ticks);
      if (ok) await c.query("SELECT pg_notify($1, '')", [this.#channel]);
      return ok;
    });
  }

  async deleteSchedule(id: string): Promise<boolean> {
    return this.#tx(async (c) => {
      await c.query("DELETE FROM schedule_ticks WHERE schedule_id = $1", [id]);
      return ((await c.query("DELETE FROM schedules WHERE id = $1", [id])).rowCount ?? 0) === 1;
    });
  }

  async getSchedule(id: string): Promise<ScheduleRecord | null> {
    return (await this.#rows("SELECT * FROM schedules WHERE id = $1", [id])).map(toSchedule)[0] ?? null;
  }

  async listSchedules(filter: { namespace?: string }): Promise<ScheduleRecord[]> {
    return sched.listSchedules(this.#rows, filter.namespace);
  }

  async listTicks(scheduleId: string, limit: number): Promise<TickRecord[]> {
    return sched.listTicks(this.#rows, scheduleId, limit);
  }

  async fireSchedules(
    now: number,
    limit: number,
    workflows: Served,
    plan: (s: DueSchedule) => SchedulePlan,
  ): Promise<{ started: number; claimed: string[] }> {
    return this.#tx(async (c) => {
      const fired = await sched.fireSchedules(c, now, limit, workflows, plan);
      // Runs inserted claimed are their firing worker's already: other workers are told only of the others.
      if (fired.started > fired.claimed.length) await c.query("SELECT pg_notify($1, '')", [this.#channel]);
      return fired;
    });
  }

  async deleteEndedRuns(req: PurgeRequest): Promise<number> {
    return this.#tx((c) => retention.deleteEndedRuns(c, req));
  }

  async deleteOldTicks(scope: PurgeScope, before: number, limit: number): Promise<number> {
    return this.#tx((c) => retention.deleteOldTicks(c, scope, before, limit));
  }

  /** Postgres's autovacuum makes the space of deleted rows reusable: nothing to do here. */
  async reclaimSpace(): Promise<number> {
    return 0;
  }

  /** Runs SQL on the pool (for tests and tools that need to look underneath). */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, args: unknown[] = []): Promise<R[]> {
    return (await this.#q<R>(sql, args)).rows;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#listener.close();
    await this.#streamListener.close();
    await this.#pool.end();
  }

  readonly #rows = <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, args: unknown[] = []) =>
    this.query<R>(sql, args);

  async #q<R extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    args: unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new StoreClosedError();
    return this.#pool.query<R>(sql, args);
  }

  async #tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreClosedError();
    const c = await this.#pool.connect();
    // A connection that dies mid-transaction emits 'error' on the client: the query in flight fails, the process lives.
    const onError = () => {};
    c.on("error", onError);
    try {
      await c.query("BEGIN");
      const out = await fn(c);
      await c.query("COMMIT");
      this.stats.commits++;
      return out;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      c.off("error", onError);
      c.release();
    }
  }

  #count<T>(rows: T[]): T[] {
    this.stats.reads++;
    this.stats.rowsRead += rows.length;
    return rows;
  }
}

/** Opens (creating and migrating if needed) a Postgres store. */
export async function openPostgresStore(opts: PostgresStoreOptions | string): Promise<PostgresStore> {
  return PostgresStore.open(typeof opts === "string" ? { url: opts } : opts);
}
