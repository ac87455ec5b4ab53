import type { Clock } from "../clock.ts";
import type { Committer } from "../committer.ts";
import type { StoredError } from "../errors.ts";
import type { Store } from "../store/types.ts";
import type { PublishedChunk } from "../execution-host.ts";
import type { Telemetry } from "../telemetry/index.ts";
import type { Registry } from "../workflow.ts";

export interface WorkerOptions {
  /** Runs held at once. */
  concurrency?: number;
  /** How long a claim lasts without renewal; a crashed worker's runs are taken over after this. */
  leaseMs?: number;
  /** Safety-net poll (real time) for work this process was not told about, e.g. written by another process. */
  pollMs?: number;
  /** Suspended runs kept hot (resumed without replay) at most. */
  hotCacheSize?: number;
  /** Only a run due again within this window is kept hot; one sleeping longer is replayed when it wakes. */
  hotWindowMs?: number;
  /** Stable id of this worker in leases; random by default. */
  id?: string;
}

/** What one drain() call did. */
export interface DrainReport {
  claimed: number;
  finished: number;
  suspended: number;
  /** Runs still executing when the budget ran out, handed back for the next call. */
  handedBack: number;
  ms: number;
}

export interface FinishedRun {
  id: string;
  parentId: string | null;
  /** It held a slot of a concurrency key (its end admits the next run in that lane). */
  lane: boolean;
  status: "completed" | "failed";
  output: string | null;
  error: StoredError | null;
}

export interface WorkerDeps {
  store: Store;
  committer: Committer;
  clock: Clock;
  registry: Registry;
  maxValueBytes: number;
  onFinished(run: FinishedRun): void;
  onPublished(runId: string, chunks: PublishedChunk[], lastChunk: number | undefined): void;
  streamRetention: number;
  telemetry: Telemetry;
  onError(e: unknown, where: string): void;
}
