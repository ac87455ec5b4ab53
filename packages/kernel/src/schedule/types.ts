/** Schedules: a cron expression in an IANA time zone starts one run per tick. */
import type { NewRun } from "../store/new-run.ts";

/** What happens to a tick while the schedule's previous run is still going. */
export type OverlapPolicy = "skip" | "queue" | "allow";
/** Which missed ticks run after downtime: none (only an on-time tick), the latest one, or all of the last N. */
export type CatchUpPolicy = "none" | "latest" | { all: number };

export interface ScheduleSpec {
  /** Stable id (letters, digits, _ . : / -); one is made up if omitted. */
  id?: string;
  workflow: string;
  /** Five fields (minute first) or six (second first), as croner reads them. */
  cron: string;
  /** IANA time zone the expression is read in (default UTC). */
  timezone?: string;
  input?: unknown;
  overlap?: OverlapPolicy;
  catchUp?: CatchUpPolicy;
  namespace?: string;
  paused?: boolean;
}

export interface ScheduleRecord {
  id: string;
  namespace: string;
  workflow: string;
  cron: string;
  timezone: string;
  input: string | null;
  overlap: OverlapPolicy;
  catchUp: "none" | "latest" | "all";
  catchUpMax: number;
  paused: boolean;
  /** The next tick not yet handled. */
  nextAt: number | null;
  /** When the scheduler must look again (next tick, or sooner while ticks are queued). */
  dueAt: number | null;
  lastRunId: string | null;
  createdAt: number;
  updatedAt: number;
}

export type TickStatus = "started" | "skipped" | "queued";

export interface TickRecord {
  scheduleId: string;
  tickAt: number;
  status: TickStatus;
  runId: string | null;
  reason: string | null;
  /** When the tick was handled: lag = firedAt - tickAt. */
  firedAt: number;
}

/** What the scheduler decided for one due schedule; the store applies it in the transaction that locked the schedule. */
export interface SchedulePlan {
  ticks: TickRecord[];
  /** Queued ticks that now start (their rows change from queued to started). */
  dequeued: TickRecord[];
  /** Runs to insert, built from the workflow's definition (its timeout, concurrency lane and version apply). */
  runs: { run: NewRun; tickAt: number }[];
  nextAt: number | null;
  dueAt: number | null;
  lastRunId: string | null;
}

/** A due schedule as the planner sees it, with what it needs to know about its last run and its queue. */
export interface DueSchedule extends ScheduleRecord {
  lastRunStatus: string | null;
  oldestQueued: number | null;
  queued: number;
}
