import { type Duration, toMs } from "./duration.ts";
import { InvalidRetryPolicyError, RetryableError } from "./errors.ts";

/** How a failed step attempt is retried. Durations are milliseconds or strings such as "1s". */
export interface RetryPolicy {
  /** Attempts in all, the first included (1 = never retry). */
  maxAttempts?: number;
  /** Delay before the second attempt. */
  initialInterval?: Duration;
  /** Each delay is the previous one times this factor. */
  backoffFactor?: number;
  /** Upper bound of a delay. */
  maxInterval?: Duration;
  /** Random spread of each delay, as a fraction (0.1 = ±10 %). */
  jitter?: number;
}

export interface ResolvedRetryPolicy {
  maxAttempts: number;
  initialIntervalMs: number;
  backoffFactor: number;
  maxIntervalMs: number;
  jitter: number;
}

export const DEFAULT_RETRY: ResolvedRetryPolicy = {
  maxAttempts: 3,
  initialIntervalMs: 1_000,
  backoffFactor: 2,
  maxIntervalMs: 60_000,
  jitter: 0.1,
};

/** Validates a policy and fills it in from `base`; throws InvalidRetryPolicyError naming the field. */
export function resolveRetry(
  p: RetryPolicy | undefined,
  base: ResolvedRetryPolicy = DEFAULT_RETRY,
): ResolvedRetryPolicy {
  if (p === undefined) return base;
  if (typeof p !== "object" || p === null) throw new InvalidRetryPolicyError("policy", p, "it must be an object");
  const out = { ...base };
  if (p.maxAttempts !== undefined) {
    if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1)
      throw new InvalidRetryPolicyError("maxAttempts", p.maxAttempts, "it must be an integer of at least 1");
    out.maxAttempts = p.maxAttempts;
  }
  if (p.initialInterval !== undefined) out.initialIntervalMs = field("initialInterval", p.initialInterval);
  if (p.maxInterval !== undefined) out.maxIntervalMs = field("maxInterval", p.maxInterval);
  if (p.backoffFactor !== undefined) {
    if (typeof p.backoffFactor !== "number" || !Number.isFinite(p.backoffFactor) || p.backoffFactor < 1)
      throw new InvalidRetryPolicyError("backoffFactor", p.backoffFactor, "it must be a number of at least 1");
    out.backoffFactor = p.backoffFactor;
  }
  if (p.jitter !== undefined) {
    if (typeof p.jitter !== "number" || !(p.jitter >= 0 && p.jitter <= 1))
      throw new InvalidRetryPolicyError("jitter", p.jitter, "it must be a number between 0 and 1");
    out.jitter = p.jitter;
  }
  if (out.maxIntervalMs < out.initialIntervalMs)
    throw new InvalidRetryPolicyError(
      "maxInterval",
      p.maxInterval,
      `it must not be below initialInterval (${out.initialIntervalMs} ms)`,
    );
  return out;
}

function field(name: string, v: Duration): number {
  try {
    return toMs(v);
  } catch {
    throw new InvalidRetryPolicyError(name, v, 'it must be a duration such as 500, "1s" or "2m"');
  }
}

/** Delay before attempt `attempt + 1` after attempt `attempt` failed with `error`. */
export function retryDelay(
  policy: ResolvedRetryPolicy,
  attempt: number,
  error: unknown,
  random: () => number = Math.random,
): number {
  if (RetryableError.is(error) && error.retryAfterMs !== undefined) return Math.max(0, error.retryAfterMs);
  const base = Math.min(policy.maxIntervalMs, policy.initialIntervalMs * policy.backoffFactor ** (attempt - 1));
  const spread = base * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(policy.maxIntervalMs, base + spread)));
}
