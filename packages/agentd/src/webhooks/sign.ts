import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Signatures as the Standard Webhooks specification writes them (standardwebhooks.com), so a
 * receiver can check them with its libraries: the secret is `whsec_<base64>`, and each request
 * carries `webhook-id` (the delivery's id: the same on every retry, so a receiver drops repeats),
 * `webhook-timestamp` (seconds; a receiver refuses old ones, so a captured request cannot be
 * replayed later) and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`.
 */

export const SECRET_PREFIX = "whsec_";

/** A new signing secret: 32 random bytes. */
export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, "base64");
}

/** The signature of one request (`v1,<base64>`). */
export function signature(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac("sha256", keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

/** The headers of a signed request. */
export function signedHeaders(secret: string, id: string, timestamp: number, body: string): Record<string, string> {
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature(secret, id, timestamp, body),
  };
}

/**
 * A receiver's check: the signature matches one of those given (space-separated, as the header may
 * hold several) and the timestamp is within `toleranceS` of `nowS`.
 */
export function verify(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowS: number,
  toleranceS = 300,
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowS - ts) > toleranceS) return false;
  const expected = Buffer.from(signature(secret, headers.id, ts, body));
  return headers.signature
    .split(" ")
    .some((s) => s.length === expected.length && timingSafeEqual(Buffer.from(s), expected));
}
