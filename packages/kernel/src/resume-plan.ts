import {
  ChildFailedError,
  RunFinishedError,
  RunNotFailedError,
  StepFailedError,
  type StoredError,
  toStoredError,
} from "./errors.ts";
import type { EntryRecord, RunRecord } from "./store/types.ts";

/** Why kernel.retry() refuses a run that is not failed: it ended otherwise, or it has not ended. */
export function retryRefused(runId: string, status: string): Error {
  return status === "completed" || status === "cancelled"
    ? new RunFinishedError(runId, status, "retry (only failed runs can be retried)")
    : new RunNotFailedError(runId, status);
}

/** The error a run ends with when `e` reaches its end, naming the command retry resumes at. */
export function endingError(e: unknown, runId: string): StoredError {
  const error = toStoredError(e);
  const seq = resumesAt(e, runId);
  if (seq !== undefined) error.seq = seq;
  return error;
}

/**
 * The failed command of run `runId` that ended it, if its code let the error through (or wrapped it as
 * the cause of its own): kernel.retry() resumes there (stored as the run error's `seq`).
 */
export function resumesAt(e: unknown, runId: string): number | undefined {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    const at = StepFailedError.is(c) || ChildFailedError.is(c) ? c.at : undefined;
    if (at?.runId === runId) return at.seq;
  }
  return undefined;
}

/** What kernel.retry() changes in a failed run's journal so that it resumes where it failed. */
export interface ResumePlan {
  /** Entries removed: their commands run again from scratch (a fresh retry budget). */
  remove: number[];
  /** Failed invokes to resume: the child is retried if it failed (and the entry waits for it again), else the entry is removed. */
  invokes: { seq: number; childId: string }[];
}

/**
 * Resumes from the failure that ended the run, not from failures its code caught and handled.
 * A failure is handled when the code went on to issue another command (`error.handledAt`, written by
 * the execution): re-running it could send the code down the other branch and contradict the journal.
 * What runs again: the failure that ended the run (`error.seq`: its error, or the cause of the error
 * the code threw), the failures the code never got past, and the steps the run's end cut short
 * (running, whatever their attempt). A run that ended with an error of its own making after
 * handling a failure (or a timeout) re-runs no handled failure: its code chose that end.
 * Entries issued after a re-run failure reached the code (compensation before a rethrow) are removed
 * too, as they answered that failure; their consumed events are delivered again. Completed invokes
 * are kept (a removed one would start its child a second time): code that invokes while handling a
 * failure it then rethrows may need its journal read by a person before a retry. The mark assumes
 * the code handles a failure before it goes on; a parallel branch that keeps issuing commands while
 * a failure is handled elsewhere may have those steps run again by a retry (at least once).
 */
export function planResume(run: Pick<RunRecord, "error">, journal: EntryRecord[]): ResumePlan {
  const failed = journal.filter((e) => e.status === "failed");
  const rerun = new Set(failed.filter((e) => e.error?.handledAt === undefined));
  const cause = failed.find((e) => e.seq === run.error?.seq);
  if (cause) rerun.add(cause);
  let cut = Number.POSITIVE_INFINITY;
  for (const e of rerun) if (e.error?.handledAt !== undefined) cut = Math.min(cut, e.error.handledAt);
  const remove: number[] = [];
  const invokes: { seq: number; childId: string }[] = [];
  for (const e of journal) {
    if (e.seq >= cut && !(e.kind === "invoke" && e.status === "completed")) remove.push(e.seq);
    else if (e.seq >= cut) continue;
    else if (rerun.has(e) && e.kind === "invoke" && e.ref) invokes.push({ seq: e.seq, childId: e.ref });
    else if (rerun.has(e) || (e.kind === "step" && e.status === "running")) remove.push(e.seq);
  }
  return { remove, invokes };
}
