import type { Clock } from "./clock.ts";
import type { Committer } from "./committer.ts";
import type { LaneEnds } from "./execution/lanes.ts";
import type { StoredError } from "./errors.ts";
import type { Store } from "./store/types.ts";
import type { Telemetry } from "./telemetry/index.ts";

/** A chunk as a step published it (`data` is its JSON). */
export interface PublishedChunk {
  seq: number;
  attempt: number;
  data: string;
}

/** What an execution needs from the worker that runs it. */
export interface ExecutionHost {
  readonly store: Store;
  readonly committer: Committer;
  readonly clock: Clock;
  readonly owner: string;
  readonly maxValueBytes: number;
  /**
   * A drain is ending: a run stops at its next new command (suspended, due at once) instead of
   * starting it, so the steps already in flight finish and are recorded rather than cut short.
   */
  readonly yielding: boolean;
  /** The execution no longer holds its run. */
  released(exec: { readonly runId: string }, outcome: "finished" | "suspended" | "lost"): void;
  /** New runnable work was committed (a child run). */
  signal(): void;
  /** Chunks were committed to the run's stream: these, in order, the last at `lastChunk` when the store told it. */
  published(runId: string, chunks: PublishedChunk[], lastChunk: number | undefined): void;
  /** Chunks kept per run's stream. */
  readonly streamRetention: number;
  readonly telemetry: Telemetry;
  /** What this process last saw of each lane's ends: a laned run's read-only first step may read while its insert commits. */
  readonly lanes: LaneEnds;
  finished(run: {
    id: string;
    parentId: string | null;
    lane: boolean;
    status: "completed" | "failed";
    output: string | null;
    error: StoredError | null;
  }): void;
}
