import type { Clock } from "./clock.ts";
import type { Duration } from "./duration.ts";
import { decodeJson } from "./json.ts";
import type { EntryRecord, RunRecord, Store } from "./store/types.ts";
import type { RetentionOptions } from "./retention/options.ts";
import type { Logger } from "./telemetry/index.ts";
import type { WorkerOptions } from "./worker/types.ts";
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
  /**
   * How long ended runs are kept (default: completed and cancelled 7 days, failed 30 days), by workflow
   * or namespace; the worker deletes older ones. False keeps every run forever.
   */
  retention?: RetentionOptions | false;
  /** Structured logs (run and step ids, never values); default: warnings and errors as JSON lines on stderr. */
  logger?: Logger;
}

export interface StartOptions {
  /**
   * Idempotency key: starting the same workflow with an existing key returns the existing run
   * (`created: false`, and `sameInput` says whether its input was this one, compared as JSON text),
   * for as long as that run is kept. Once retention has deleted it (by default 7 days after it
   * completed or was cancelled, 30 days after it failed), the key is free again and starts a new run.
   */
  key?: string;
  /** With a key that exists and a different input: "return" the existing run (default) or "refuse" with IdempotencyConflictError. */
  ifInputDiffers?: "return" | "refuse";
  /** The run fails with RunTimeoutError after this long. */
  timeout?: Duration;
  /** Tenant or other partition the run belongs to. */
  namespace?: string;
}

export interface RunHandle<O> {
  readonly id: string;
  /** False when the idempotency key matched an existing run. */
  readonly created: boolean;
  /** When the key matched an existing run: whether that run was started with this input (always true for a new run). */
  readonly sameInput: boolean;
  /** Waits for the run to end: its output, or RunFailedError. */
  result(): Promise<O>;
}

/** A run as people and APIs see it: values decoded. */
export type RunInfo = Omit<RunRecord, "input" | "output"> & { input: unknown; output: unknown };

/** One journal entry as people and APIs see it: its value decoded. */
export type JournalEntry = Omit<EntryRecord, "runId" | "value"> & { value: unknown };

/** A run record as RunInfo: values decoded. */
export function toInfo(r: RunRecord): RunInfo {
  return { ...r, input: decodeJson(r.input), output: decodeJson(r.output) };
}
