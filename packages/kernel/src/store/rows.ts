import type { StoredError } from "../errors.ts";
import type { ScheduleRecord, TickRecord } from "../schedule/types.ts";
import type {
  EntryKind,
  EntryRecord,
  EntryStatus,
  EventRecord,
  RunRecord,
  RunStatus,
  StreamChunk,
  WorkerRecord,
} from "./types.ts";

type Row = Record<string, unknown>;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const err = (v: unknown): StoredError | null =>
  v === null || v === undefined ? null : (JSON.parse(String(v)) as StoredError);

export function toRun(r: Row): RunRecord {
  return {
    id: String(r.id),
    namespace: String(r.namespace),
    workflow: String(r.workflow),
    key: str(r.key),
    status: r.status as RunStatus,
    input: str(r.input),
    output: str(r.output),
    error: err(r.error),
    parentId: str(r.parent_id),
    parentSeq: num(r.parent_seq),
    epoch: Number(r.epoch),
    leaseOwner: str(r.lease_owner),
    leaseExpiresAt: num(r.lease_expires_at),
    wakeAt: num(r.wake_at),
    waiting: r.waiting ? (JSON.parse(String(r.waiting)) as RunRecord["waiting"]) : null,
    timeoutMs: num(r.timeout_ms),
    deadlineAt: num(r.deadline_at),
    concurrencyKey: str(r.concurrency_key),
    queued: Number(r.queued ?? 0) === 1,
    generation: Number(r.generation ?? 0),
    version: str(r.version),
    traceParent: str(r.trace_parent),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    completedAt: num(r.completed_at),
  };
}

export function toEntry(r: Row): EntryRecord {
  return {
    runId: String(r.run_id),
    seq: Number(r.seq),
    kind: r.kind as EntryKind,
    name: String(r.name),
    status: r.status as EntryStatus,
    attempt: Number(r.attempt),
    wakeAt: num(r.wake_at),
    value: str(r.value),
    error: err(r.error),
    ref: str(r.ref),
    startedAt: Number(r.started_at),
    updatedAt: Number(r.updated_at),
  };
}

export function toEvent(r: Row): EventRecord {
  return {
    id: Number(r.id),
    runId: String(r.run_id),
    name: String(r.name),
    eventId: String(r.event_id),
    payload: str(r.payload),
    createdAt: Number(r.created_at),
  };
}

export function toSchedule(r: Row): ScheduleRecord {
  return {
    id: String(r.id),
    namespace: String(r.namespace),
    workflow: String(r.workflow),
    cron: String(r.cron),
    timezone: String(r.timezone),
    input: str(r.input),
    overlap: r.overlap as ScheduleRecord["overlap"],
    catchUp: r.catch_up as ScheduleRecord["catchUp"],
    catchUpMax: Number(r.catch_up_max),
    paused: Boolean(r.paused),
    nextAt: num(r.next_at),
    dueAt: num(r.due_at),
    lastRunId: str(r.last_run_id),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function toTick(r: Row): TickRecord {
  return {
    scheduleId: String(r.schedule_id),
    tickAt: Number(r.tick_at),
    status: r.status as TickRecord["status"],
    runId: str(r.run_id),
    reason: str(r.reason),
    firedAt: Number(r.fired_at),
  };
}

/** Column values of a schedule row, in the order of SCHEDULE_COLUMNS. */
export const SCHEDULE_COLUMNS =
  "id, namespace, workflow, cron, timezone, input, overlap, catch_up, catch_up_max, paused, next_at, due_at, last_run_id, created_at, updated_at";
export function scheduleValues(s: ScheduleRecord): (string | number | null)[] {
  return [
    s.id,
    s.namespace,
    s.workflow,
    s.cron,
    s.timezone,
    s.input,
    s.overlap,
    s.catchUp,
    s.catchUpMax,
    s.paused ? 1 : 0,
    s.nextAt,
    s.dueAt,
    s.lastRunId,
    s.createdAt,
    s.updatedAt,
  ];
}

export function toWorker(r: Row): WorkerRecord {
  return {
    id: String(r.id),
    workflows: JSON.parse(String(r.workflows)) as WorkerRecord["workflows"],
    startedAt: Number(r.started_at),
    heartbeatAt: Number(r.heartbeat_at),
  };
}

export function toChunk(r: Row): StreamChunk {
  return {
    pos: Number(r.pos),
    seq: Number(r.seq),
    attempt: Number(r.attempt),
    data: String(r.data),
    createdAt: Number(r.created_at),
  };
}
