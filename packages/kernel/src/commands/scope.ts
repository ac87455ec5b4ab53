import type { GroupResult, EntryKind, EntryRecord, EventRecord, RunRecord, WriteOp } from "../store/types.ts";
import type { ExecutionHost } from "../execution-host.ts";
import type { StepTelemetry } from "../telemetry/index.ts";
import type { Workflow } from "../workflow.ts";

/** A blocked command: completes itself when `poll` finds what it waits for. */
export interface Waiter {
  wakeAt: number | null;
  event?: string;
  child?: string;
  /** Completes the wait if it can; true when it did. */
  poll(now: number): boolean;
}

/**
 * What a command needs from the execution running it. Commands are plain functions over this scope,
 * one file per kind, so each reads on its own.
 */
export interface CommandScope {
  readonly runId: string;
  readonly namespace: string;
  readonly host: ExecutionHost;
  readonly wf: Workflow<never, unknown>;
  /** Buffered, unconsumed events (refreshed on wake-up). */
  readonly events: readonly EventRecord[];
  readonly consumed: Set<number>;
  readonly children: ReadonlyMap<string, RunRecord>;
  /** True while this worker still holds the run and it has not ended. */
  readonly live: boolean;
  /** The next command number, checked against the journal; null when the run diverged (it is being failed). */
  next(kind: EntryKind, name: string): [number, EntryRecord | undefined] | null;
  entry(seq: number, kind: EntryKind, name: string, status: EntryRecord["status"]): EntryRecord;
  put(rec: EntryRecord): void;
  /** A failed entry's error is being thrown into the workflow code (if the code goes on, the failure was handled). */
  failed(rec: EntryRecord): void;
  write(op: WriteOp): Promise<GroupResult>;
  /** A run started here with a concurrency lane, its insert not committed yet; null when there is nothing to wait for. */
  admission(): Admission | null;
  /** Waits until the run's writes so far are durable; false if this worker no longer holds the run. */
  durable(): Promise<boolean>;
  until(at: number): Promise<void>;
  wait(w: Waiter): void;
  track<T>(p: Promise<T>): Promise<T>;
  continueAsNew(input: unknown): Promise<never>;
  stepTelemetry(seq: number, name: string, attempt: number, secret: boolean): StepTelemetry | null;
  childTraceParent(): string | null;
  /** Appends a chunk to the run's stream (committed with the run's next writes). */
  publish(seq: number, attempt: number, data: unknown): void;
  /** What stops the step attempts in flight when the run ends or is lost. */
  controllers: Set<Abortable>;
}

/** A step attempt in flight, stopped with a reason (an AbortController is one). */
export interface Abortable {
  abort(reason?: unknown): void;
}

/** The commit inserting a laned run started here, as a read-only step sees it while it is in flight. */
export interface Admission {
  /**
   * The step may read now, before the commit: this process saw the lane's last end, and the commit will
   * say whether another ended since. Otherwise it reads only once admitted.
   */
  readonly early: boolean;
  /**
   * Settles with the commit: not admitted (false); admitted with no run of the lane ended since this was
   * asked ("fresh": a read begun since is as fresh as one made once admitted); admitted otherwise ("stale").
   */
  readonly verdict: Promise<false | "fresh" | "stale">;
}

/** A promise that never settles: a command of a run this worker no longer holds. Fresh each time so it can be collected. */
export const never = <T>(): Promise<T> => new Promise<T>(() => {});
