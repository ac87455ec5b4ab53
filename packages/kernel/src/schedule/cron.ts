import { Cron } from "croner";
import { InvalidScheduleError } from "../errors.ts";

/**
 * Parsed expressions by zone and expression, shared by every schedule that has them: a worker plans each
 * due schedule on every tick, and a thousand tenants' heartbeats are one expression in one zone. Parsing
 * (and checking the zone) cost as much as croner's next time in a zone, about 0.1 ms each on this machine.
 */
const parsed = new Map<string, Cron>();
/** Distinct expressions kept at most: past that the cache starts over (it only saves work). */
const PARSED_MAX = 1_000;
/** Next times already computed, by expression and instant: the schedules due at one instant ask the same. */
const nextTimes = new WeakMap<Cron, Map<number, number | null>>();
const NEXT_MAX = 256;

/** Validates an expression and a zone, returning croner's parsed schedule (one object per expression and zone). */
export function parseCron(expr: string, timezone: string): Cron {
  const key = `${timezone}\u0000${expr}`;
  const known = parsed.get(key);
  if (known) return known;
  const cron = parseNew(expr, timezone);
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(key, cron);
  return cron;
}

function parseNew(expr: string, timezone: string): Cron {
  if (typeof timezone !== "string" || !isZone(timezone))
    throw new InvalidScheduleError(
      `unknown time zone ${JSON.stringify(timezone)}: use an IANA name such as "UTC", "Europe/Paris" or "America/New_York".`,
    );
  if (typeof expr !== "string" || expr.trim() === "")
    throw new InvalidScheduleError('a schedule needs a cron expression such as "0 9 * * 1-5".');
  try {
    // UTC as croner's fixed offset 0: the same times as the zone "UTC" (test/cron-utc.test.ts), computed
    // without Intl, whose first zone loads some 5 MB of ICU's locale and zone data into a process that
    // otherwise never formats a date (an idle agentd with every tenant's heartbeat in UTC).
    return new Cron(expr, timezone === "UTC" ? { utcOffset: 0, paused: true } : { timezone, paused: true });
  } catch (e) {
    throw new InvalidScheduleError(
      `invalid cron expression ${JSON.stringify(expr)}: ${(e as Error).message.replace(/^CronPattern: /, "")}.`,
    );
  }
}

function isZone(tz: string): boolean {
  if (tz === "UTC") return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The first tick strictly after `after`, or null if the expression never fires again. */
export function nextTick(cron: Cron, after: number): number | null {
  let known = nextTimes.get(cron);
  const hit = known?.get(after);
  if (hit !== undefined) return hit;
  // A paused Cron keeps no state between calls: its next time after an instant is always the same.
  const next = cron.nextRun(new Date(after))?.getTime() ?? null;
  if (!known || known.size >= NEXT_MAX) nextTimes.set(cron, (known = new Map()));
  known.set(after, next);
  return next;
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
