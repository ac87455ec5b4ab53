/**
 * The Store port. The engine talks to durable state only through this interface; every
 * implementation (SQLite here, Postgres next) must pass the same conformance suite.
 *
 * Writes reach the store as *groups*: the ops one run produced since its last commit, fenced by the
 * lease epoch the writer holds. `commit` applies many groups in one transaction (group commit), and
 * a group whose fence fails is rolled back alone while the others commit.
 */
import type { StoreRefusedError, StoredError } from "../errors.ts";
import type { DueSchedule, SchedulePlan, ScheduleRecord, TickRecord } from "../schedule/types.ts";
import type { NewRun } from "./new-run.ts";

export type { NewRun } from "./new-run.ts";

export type RunStatus = "pending" | "running" | "suspended" | "completed" | "failed" | "cancelled";
export const RUN_STATUSES: readonly RunStatus[] = [
  "pending",
  "running",
  "suspended",
  "completed",
  "failed",
  "cancelled",
];
export const TERMINAL_STATUSES: readonly RunStatus[] = ["completed", "failed", "cancelled"];
/** True once a run has ended: it changes no more (but for retry). */
export const isTerminal = (status: string): boolean => (TERMINAL_STATUSES as readonly string[]).includes(status);
/** The ended statuses as an SQL list, for both stores' statements. */
export const TERMINAL_SQL = `(${TERMINAL_STATUSES.map((s) => `'${s}'`).join(", ")})`;

export interface RunRecord {
  id: string;
  namespace: string;
  workflow: string;
  key: string | null;
  status: RunStatus;
  input: string | null;
  output: string | null;
  error: StoredError | null;
  parentId: string | null;
  parentSeq: number | null;
  epoch: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** When a pending or suspended run becomes runnable; null while it waits only for an event or a child. */
  wakeAt: number | null;
  /** What a suspended run waits for, for people reading it. */
  waiting: { events: string[]; children: string[] } | null;
  timeoutMs: number | null;
  deadlineAt: number | null;
  concurrencyKey: string | null;
  /** True while it waits for a slot of its concurrency key. */
  queued: boolean;
  /** Times the run continued as new. */
  generation: number;
  /** The workflow version it is pinned to (null until a worker first claims it, for runs started without code). */
  version: string | null;
  traceParent: string | null;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

export type EntryKind = "step" | "sleep" | "event" | "invoke" | "now" | "uuid" | "random";
export type EntryStatus = "running" | "retrying" | "waiting" | "completed" | "failed";

/** One journal entry: the durable record of the seq-th command a run issued. */
export interface EntryRecord {
  runId: string;
  seq: number;
  kind: EntryKind;
  name: string;
  status: EntryStatus;
  /** Step attempts started so far (durable, so a crash does not reset the retry budget). */
  attempt: number;
  /** Due time of a sleep, an event timeout or a retry. */
  wakeAt: number | null;
  value: string | null;
  error: StoredError | null;
  /** Child run id (invoke) or event id (event). */
  ref: string | null;
  startedAt: number;
  updatedAt: number;
}

export interface EventRecord {
  id: number;
  runId: string;
  name: string;
  eventId: string;
  payload: string | null;
  createdAt: number;
}

export type WriteOp =
  | { op: "insertRun"; run: NewRun }
  /** `update`: the entry was written before (an update suffices); otherwise it may be new. */
  | { op: "putEntry"; entry: EntryRecord; update?: boolean }
  | { op: "consumeEvent"; eventRowId: number; seq: number }
  | { op: "suspend"; wakeAt: number | null; events: string[]; children: string[] }
  | { op: "finish"; status: "completed" | "failed"; output: string | null; error: StoredError | null }
  /** A chunk a step published to the run's stream; chunks more than `retain` positions old are dropped as new ones come. */
  /** Its position is the next in the run's stream, given by the store (the writer holds the run, so positions cannot collide). */
  | { op: "publish"; seq: number; attempt: number; data: string; retain: number }
  /** Restarts the run with fresh input and an empty journal (its consumed events go too), runnable at once. */
  | { op: "continueAsNew"; input: string | null }
  /** Gives the run back untouched (a worker shutting down): runnable again at once by any worker. */
  | { op: "release" };

export interface WriteGroup {
  runId: string;
  /** The lease epoch the writer holds; 0 for a group that only inserts a new, unclaimed run. */
  epoch: number;
  owner: string;
  ops: WriteOp[];
}

export type GroupResult =
  | {
      ok: true;
      /**
       * A store that stamps its concurrency lanes at each run's end (Postgres): the lane's last stamp as the
       * commit that inserted and admitted this run found it (absent if no run of the lane ended yet).
       */
      laneSeen?: number;
      /** Such a store: the stamp this group's end of a laned run gave its lane. */
      laneEnd?: number;
      /**
       * The stream position of the last chunk the group published, when the store tells it (its chunks
       * are the positions just before it, in order): the kernel hands them to subscribers in its process
       * without reading them back. A store that omits it leaves them to read the stream.
       */
      lastChunk?: number;
    }
  | { ok: false; reason: "lease_lost" }
  | { ok: false; reason: "conflict"; existingRunId: string }
  /** The store refused the group for what it holds (too large, not storable): the run fails with `error`. */
  | { ok: false; reason: "refused"; error: StoreRefusedError };

/** The workflows a worker executes: name → version. It claims only runs pinned to those versions (or not pinned yet, pinning them). */
export type Served = Record<string, string>;

export interface ClaimRequest {
  owner: string;
  limit: number;
  now: number;
  leaseMs: number;
  workflows: Served;
}

export interface StreamChunk {
  /** Position in the run's stream, from 1. */
  pos: number;
  /** The step (journal seq) and attempt that published it: a retried step publishes again. */
  seq: number;
  attempt: number;
  data: string;
  createdAt: number;
}

export interface WorkerRecord {
  id: string;
  workflows: Served;
  startedAt: number;
  heartbeatAt: number;
}

export interface RunFilter {
  status?: RunStatus | RunStatus[];
  workflow?: string;
  namespace?: string;
  parentId?: string;
  limit?: number;
  /** Runs created before this time (for paging, newest first). */
  before?: number;
  /**
   * With `before`: runs created at exactly `before` whose id sorts below this one are included too,
   * so a page that ends among runs created in the same millisecond continues where it stopped.
   */
  beforeId?: string;
  /** Runs created at or after this time. */
  since?: number;
  /** Runs started with this idempotency key. */
  key?: string;
}

export interface EventInput {
  name: string;
  eventId: string;
  payload: string | null;
}

export type SendEventResult =
  | { delivered: true; runId: string }
  | { delivered: false; runId: string; reason: "duplicate" };

/** Which runs a retention rule covers: every run of `workflow` and `namespace` (null: any) but those the exceptions name. */
export interface PurgeScope {
  workflow: string | null;
  namespace: string | null;
  exceptWorkflows: string[];
  exceptNamespaces: string[];
}

export interface PurgeRequest extends PurgeScope {
  status: "completed" | "failed" | "cancelled";
  /** Runs that ended before this time. */
  endedBefore: number;
  /** At most this many runs, in one short transaction. */
  limit: number;
}

/** Counters for benchmarks: how much a run costs the store. */
export interface StoreStats {
  commits: number;
  reads: number;
  rowsRead: number;
}

export interface Store {
  readonly kind: string;
  readonly stats: StoreStats;
  /** Applies groups in one transaction; each group fenced by its epoch. */
  commit(groups: WriteGroup[], now: number): Promise<GroupResult[]>;
  claim(req: ClaimRequest): Promise<RunRecord[]>;
  /** Extends the leases this owner holds; returns the ids it no longer holds. */
  renewLeases(owner: string, runs: { id: string; epoch: number }[], expiresAt: number): Promise<string[]>;
  /** Earliest time at which some run becomes claimable (timer due or another owner's lease expired), and the earliest due schedule. */
  nextWakeAt(workflows: Served, owner: string): Promise<{ runs: number | null; schedules: number | null }>;
  getRun(id: string): Promise<RunRecord | null>;
  getRuns(ids: string[]): Promise<RunRecord[]>;
  findRunByKey(workflow: string, key: string): Promise<RunRecord | null>;
  listRuns(filter: RunFilter): Promise<RunRecord[]>;
  loadJournal(runId: string): Promise<EntryRecord[]>;
  /** Events delivered to the run and not consumed yet, oldest first. */
  loadEvents(runId: string): Promise<EventRecord[]>;
  /** Delivers an event (deduplicated by eventId) and wakes the run; throws if the run is unknown or finished. */
  sendEvent(runId: string, event: EventInput, now: number): Promise<SendEventResult>;
  /** Cancels the run and its unfinished descendants; returns the ids cancelled. */
  cancelRun(runId: string, now: number): Promise<string[]>;
  /** Resets a failed run to resume from its last checkpoint: failed entries are removed. */
  retryRun(runId: string, now: number): Promise<void>;
  /** Inserts a schedule; false if one with that id exists. */
  insertSchedule(s: ScheduleRecord): Promise<boolean>;
  /** Replaces a schedule's definition and records `ticks` (missed ticks it will not run, with why); false if there is none with that id. */
  updateSchedule(s: ScheduleRecord, ticks?: TickRecord[]): Promise<boolean>;
  deleteSchedule(id: string): Promise<boolean>;
  getSchedule(id: string): Promise<ScheduleRecord | null>;
  listSchedules(filter: { namespace?: string }): Promise<ScheduleRecord[]>;
  /** A schedule's handled ticks, newest first. */
  listTicks(scheduleId: string, limit: number): Promise<TickRecord[]>;
  /**
   * Locks the schedules due at `now` whose workflow this worker serves (each by one worker only), asks `plan` what to do with each, and
   * applies the plans (runs, tick records, next due time) in the same transaction. A planned run may come claimed
   * (`claimedBy`) unless it has a concurrency key (a lane's run may have to queue: it is inserted unclaimed).
   * Returns how many runs were inserted and the ids of those inserted claimed: only those are the claimer's to
   * execute (a run whose insert conflicted, or was skipped, is not).
   */
  fireSchedules(
    now: number,
    limit: number,
    workflows: Served,
    plan: (s: DueSchedule) => SchedulePlan,
  ): Promise<{ started: number; claimed: string[] }>;
  /** Chunks of a run's stream from position `from` on (at most `limit`), and the positions it still holds. */
  readStream(
    runId: string,
    from: number,
    limit: number,
  ): Promise<{ chunks: StreamChunk[]; first: number | null; last: number | null }>;
  /** Calls `fn` when another process publishes to a run's stream (stores shared between processes). */
  onStream?(fn: (runId: string) => void): () => void;
  /**
   * How many runs are in each status, and how many are due and waiting for a worker (for metrics).
   * Neither reads every run: ended runs are counted as they end, unfinished ones by index.
   * `byStatus: false` counts only the due ones (one index read: what a health check asked often needs).
   */
  countRuns(now: number, opts?: { byStatus?: boolean }): Promise<{ byStatus: Record<string, number>; due: number }>;
  /** Records (or refreshes) a live worker and the workflow versions it executes. */
  heartbeat(worker: WorkerRecord): Promise<void>;
  removeWorker(id: string): Promise<void>;
  listWorkers(): Promise<WorkerRecord[]>;
  /**
   * Retention: deletes at most `limit` runs in scope that ended with `status` before `endedBefore`, with
   * their journal, events, stream chunks and schedule tick records, in one short transaction; returns
   * how many. Skips rows other transactions hold (never waits for them), and runs whose parent has not ended.
   */
  deleteEndedRuns(req: PurgeRequest): Promise<number>;
  /** Retention: deletes at most `limit` tick records of schedules in scope that started no run (skipped), handled before `before`. */
  deleteOldTicks(scope: PurgeScope, before: number, limit: number): Promise<number>;
  /** Gives the space of deleted rows back to the file system where the store must be told to (SQLite's incremental vacuum); returns the pages freed. */
  reclaimSpace(): Promise<number>;
  /** Calls `fn` when any process commits runnable work (stores shared between processes); returns an unsubscribe. */
  onWork?(fn: () => void): () => void;
  close(): Promise<void>;
}
