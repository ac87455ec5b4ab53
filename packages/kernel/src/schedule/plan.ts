import { uuidv7 } from "../ids.ts";
import { nextTick, parseCron, ticksBetween } from "./cron.ts";
import { isTerminal, type NewRun } from "../store/types.ts";
import type { DueSchedule, SchedulePlan, TickRecord } from "./types.ts";

/** Makes the run a tick starts, from the workflow's definition; throws (with a reason) if it cannot. */
export type BuildRun = (s: DueSchedule, id: string, key: string) => NewRun;

/** How old a tick may be and still count as on time under catch-up "none". */
export const ON_TIME_MS = 60_000;
/** Ticks enumerated one by one after downtime; older missed ones are summed up in one skipped record. */
const MAX_TICKS = 1_000;
/** While ticks are queued behind a running run, look again this often. */
const QUEUE_RECHECK_MS = 1_000;

/**
 * Decides what a due schedule does now: which ticks start runs, which are queued, which are skipped
 * and why. Pure: the store runs it inside the transaction that holds the schedule's row, so exactly
 * one worker decides each tick.
 */
export function planSchedule(s: DueSchedule, now: number, build: BuildRun): SchedulePlan {
  const cron = parseCron(s.cron, s.timezone);
  const plan: SchedulePlan = {
    ticks: [],
    dequeued: [],
    runs: [],
    nextAt: s.nextAt,
    dueAt: null,
    lastRunId: s.lastRunId,
  };
  let busy = s.lastRunStatus !== null && !isTerminal(s.lastRunStatus);
  let queued = s.queued;
  /** The run id, or the reason no run could be made (recorded on the tick). */
  const start = (tickAt: number): { id: string } | { reason: string } => {
    const id = uuidv7();
    let run: NewRun;
    try {
      run = build(s, id, `schedule:${s.id}:${new Date(tickAt).toISOString()}`);
    } catch (e) {
      return { reason: `the run could not be started: ${(e as Error).message}` };
    }
    plan.runs.push({ run, tickAt });
    plan.lastRunId = id;
    busy = true;
    return { id };
  };
  const tick = (tickAt: number, status: TickRecord["status"], runId: string | null, reason: string | null) =>
    plan.ticks.push({ scheduleId: s.id, tickAt, status, runId, reason, firedAt: now });
  const startTick = (t: number) => {
    const r = start(t);
    if ("id" in r) tick(t, "started", r.id, null);
    else tick(t, "skipped", null, r.reason);
  };

  // A queued tick goes first once the run before it has ended.
  if (!busy && s.oldestQueued !== null) {
    const r = start(s.oldestQueued);
    plan.dequeued.push(
      "id" in r
        ? { scheduleId: s.id, tickAt: s.oldestQueued, status: "started", runId: r.id, reason: null, firedAt: now }
        : { scheduleId: s.id, tickAt: s.oldestQueued, status: "skipped", runId: null, reason: r.reason, firedAt: now },
    );
    queued--;
  }

  if (s.nextAt !== null && s.nextAt <= now) {
    const { ticks, more, firstMore, lastMore } = ticksBetween(cron, s.nextAt, now, MAX_TICKS);
    const latest = lastMore ?? (ticks.at(-1) as number);
    const listed = more > 0 ? [...ticks, latest] : ticks;
    let chosen: number[];
    if (s.catchUp === "none") chosen = now - latest <= ON_TIME_MS ? [latest] : [];
    else if (s.catchUp === "latest") chosen = [latest];
    else chosen = listed.slice(-s.catchUpMax);
    const policy = s.catchUp === "all" ? `all up to ${s.catchUpMax}` : s.catchUp;
    for (const t of listed) {
      if (chosen.includes(t)) continue;
      tick(
        t,
        "skipped",
        null,
        `missed: no worker ran the schedule at ${iso(t)}, handled at ${iso(now)} (catch-up policy: ${policy})`,
      );
    }
    if (more > 1 && firstMore !== null)
      tick(
        firstMore,
        "skipped",
        null,
        `missed ${more - 1} ticks from ${iso(firstMore)} until before ${iso(latest)} (catch-up policy: ${policy})`,
      );
    for (const t of chosen) {
      if (!busy || s.overlap === "allow") startTick(t);
      else if (s.overlap === "skip")
        tick(t, "skipped", null, `the previous run ${plan.lastRunId} was still running (overlap policy: skip)`);
      else if (queued < 100) {
        tick(t, "queued", null, `waiting for the previous run ${plan.lastRunId} to end (overlap policy: queue)`);
        queued++;
      } else tick(t, "skipped", null, "100 ticks already queued behind a running run (overlap policy: queue)");
    }
    plan.nextAt = nextTick(cron, now);
  }
  plan.dueAt = queued > 0 ? Math.min(plan.nextAt ?? Number.POSITIVE_INFINITY, now + QUEUE_RECHECK_MS) : plan.nextAt;
  return plan;
}

const iso = (t: number) => new Date(t).toISOString();
