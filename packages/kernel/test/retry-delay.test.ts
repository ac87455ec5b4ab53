import assert from "node:assert/strict";
import { test } from "node:test";
import { RetryableError } from "../src/index.ts";
import { DEFAULT_RETRY, resolveRetry, retryDelay } from "../src/retry.ts";

// The retry delay, a pure function: exponential, capped, jittered within its fraction, overridden by retryAfterMs.
test("delays grow by the factor from the initial interval and stop at the cap", () => {
  const p = resolveRetry({ initialInterval: "1s", backoffFactor: 3, maxInterval: "20s", jitter: 0 });
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((a) => retryDelay(p, a, new Error("x"))),
    [1_000, 3_000, 9_000, 20_000, 20_000],
  );
});

test("jitter spreads a delay by at most its fraction either way, and never past the cap", () => {
  const p = resolveRetry({ initialInterval: 1_000, backoffFactor: 2, maxInterval: 4_000, jitter: 0.25 });
  assert.equal(
    retryDelay(p, 1, null, () => 0),
    750,
  );
  assert.equal(
    retryDelay(p, 1, null, () => 1),
    1_250,
  );
  assert.equal(
    retryDelay(p, 3, null, () => 1),
    4_000,
    "capped after the spread",
  );
  for (let i = 0; i < 1_000; i++) {
    const d = retryDelay(p, 2, null);
    assert.ok(d >= 1_500 && d <= 2_500, `${d}`);
  }
});

test("RetryableError.retryAfterMs wins over the policy, and is never negative", () => {
  assert.equal(retryDelay(DEFAULT_RETRY, 1, new RetryableError("429", { retryAfterMs: 42_000 })), 42_000);
  assert.equal(retryDelay(DEFAULT_RETRY, 1, new RetryableError("429", { retryAfterMs: -5 })), 0);
});

test("a bad policy is refused naming the field", () => {
  assert.throws(() => resolveRetry({ maxAttempts: 0 }), /maxAttempts/);
  assert.throws(() => resolveRetry({ backoffFactor: 0.5 }), /backoffFactor/);
  assert.throws(() => resolveRetry({ jitter: 2 }), /jitter/);
  assert.throws(
    () => resolveRetry({ initialInterval: "10s", maxInterval: "1s" }),
    /maxInterval.*not be below initialInterval/,
  );
  assert.throws(() => resolveRetry({ initialInterval: "soon" }), /initialInterval.*duration/);
});
