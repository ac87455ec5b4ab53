import { Cron } from "croner";
import { InvalidScheduleError } from "../errors.ts";

/** Validates an expression and a zone, returning croner's parsed schedule. */
export function parseCron(expr: string, timezone: string): Cron {
  if (typeof timezone !== "string" || !isZone(timezone))
    throw new InvalidScheduleError(
      `unknown time zone ${JSON.stringify(timezone)}: use an IANA name such as "UTC", "Europe/Paris" or "America/New_York".`,
    );
  if (typeof expr !== "string" || expr.trim() === "")
    throw new InvalidScheduleError('a schedule needs a cron expression such as "0 9 * * 1-5".');
  try {
    return new Cron(expr, { timezone, paused: true });
  } catch (e) {
    throw new InvalidScheduleError(
      `invalid cron expression ${JSON.stringify(expr)}: ${(e as Error).message.replace(/^CronPattern: /, "")}.`,
    );
  }
}

function isZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The first tick strictly after `after`, or null if the expression never fires again. */
export function nextTick(cron: Cron, after: number): number | null {
  return cron.nextRun(new Date(after))?.getTime() ?? null;
}

/** Ticks in [from, to], oldest first: at most `cap` listed; of the rest, the count, the first and the last. */
export function ticksBetween(
  cron: Cron,
  from: number,
  to: number,
  cap: number,
): { ticks: number[]; more: number; firstMore: number | null; lastMore: number | null } {
  const ticks: number[] = [];
  let more = 0;
  let firstMore: number | null = null;
  let lastMore: number | null = null;
  // `from` is itself a tick (the schedule's nextAt), so it is included; later ones come from croner.
  for (let t: number | null = from; t !== null && t <= to; t = nextTick(cron, t)) {
    if (ticks.length < cap) ticks.push(t);
    else {
      more++;
      firstMore ??= t;
      lastMore = t;
    }
  }
  return { ticks, more, firstMore, lastMore };
}
