import { InvalidDurationError } from "./errors.ts";

/** A duration: milliseconds, or a string such as "500ms", "30s", "10m", "1h30m", "2d". */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** Parses a duration to milliseconds; throws InvalidDurationError with the accepted forms. */
export function toMs(d: Duration): number {
  if (typeof d === "number") {
    if (!Number.isFinite(d) || d < 0) throw new InvalidDurationError(d);
    return Math.round(d);
  }
  if (typeof d !== "string") throw new InvalidDurationError(d);
  const s = d.replaceAll(" ", "");
  if (!WHOLE.test(s)) throw new InvalidDurationError(d);
  let total = 0;
  for (const m of s.matchAll(PART)) total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return Math.round(total);
}
