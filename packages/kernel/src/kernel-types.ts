import type { Clock } from "./clock.ts";
import type { Duration } from "./duration.ts";
import type { StoredError } from "./errors.ts";
import { decodeJson } from "./json.ts";
import type { EntryKind, EntryStatus, RunRecord, RunStatus, Store } from "./store/types.ts";
import type { Logger } from "./telemetry/index.ts";
import type { WorkerOptions } from "./worker-types.ts";
import type { Workflow } from "./workflow.ts";

export interface KernelOptions {
  store: Store;
  /** The workflows this kernel's worker executes (and that can be started by name). */
  workflows?: readonly Workflow<never, unknown>[];
  clock?: Clock;
  /** Worker settings; false for a client-only kernel that starts runs and sends events but executes none. */
  worker?: WorkerOptions | false;
  /** Largest step result, input, output or event payload accepted, in bytes (default 1 MiB). */
  maxValueBytes?: number;
  /** Chunks kept per run's stream (default 10,000); older ones are dropped as new ones come. */
  streamRetention?: number;
  /** Called with errors that have no caller to go to (a failed claim, a lost connection); by default they are logged. */
  onError?: (error: unknown, where: string) => void;
  /** Structured logs (run and step ids, never values); default: warnings and errors as JSON lines on stderr. */
  logger?: Logger;
}

export interface StartOptions {
  /** Idempotency key: starting the same workflow with an existing key returns the existing run. */
  key?: string;
  /** The run fails with RunTimeoutError after this long. */
  timeout?: Duration;
  /** Tenant or other partition the run belongs to. */
  namespace?: string;
}

export interface RunHandle<O> {
  readonly id: string;
  /** False when the idempotency key matched an existing run. */
  readonly created: boolean;
  /** Waits for the run to end: its output, or RunFailedError. */
  result(): Promise<O>;
}

/** A run as people and APIs see it: values decoded. */
export interface RunInfo {
  id: string;
  namespace: string;
  workflow: string;
  key: string | null;
  status: RunStatus;
  input: unknown;
  output: unknown;
  error: StoredError | null;
  parentId: string | null;
  wakeAt: number | null;
  waiting: RunRecord["waiting"];
  leaseOwner: string | null;
  epoch: number;
  concurrencyKey: string | null;
  /** Waiting for a slot of its concurrency key. */
  queued: boolean;
  /** Times it continued as new. */
  generation: number;
  /** The workflow version it is pinned to (null until first claimed, for runs started by a schedule). */
  version: string | null;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

export interface JournalEntry {
  seq: number;
  kind: EntryKind;
  name: string;
  status: EntryStatus;
  attempt: number;
  wakeAt: number | null;
  value: unknown;
  error: StoredError | null;
  ref: string | null;
  startedAt: number;
  updatedAt: number;
}

/** A run record as RunInfo: values decoded. */
export function toInfo(r: RunRecord): RunInfo {
  return {
    id: r.id, namespace: r.namespace, workflow: r.workflow, key: r.key, status: r.status, input: decodeJson(r.input),
    output: decodeJson(r.output), error: r.error, parentId: r.parentId, wakeAt: r.wakeAt, waiting: r.waiting,
    leaseOwner: r.leaseOwner, epoch: r.epoch, concurrencyKey: r.concurrencyKey, queued: r.queued, generation: r.generation, version: r.version, createdAt: r.createdAt, updatedAt: r.updatedAt, completedAt: r.completedAt,
  };
}
