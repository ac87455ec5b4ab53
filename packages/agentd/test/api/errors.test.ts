// The HTTP layer's one table from error codes to statuses, and what an error answer may say.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError, StoreUnreachableError } from "@agentd/kernel";
import { Hono } from "hono";
import { onApiError, STATUS, statusOf } from "../../src/api/errors.ts";
import { AGENTD_ERROR_CODES, AgentdError, notFound } from "../../src/errors.ts";
import { RateLimitedError } from "../../src/tenancy/quotas.ts";
import { UnscopedQueryError } from "../../src/tenancy/scope.ts";

const SECRET = "sk-live-9f8e7d6c5b4a39281706";

/** An app whose one route throws `e`, answered by onApiError; the log lines it wrote. */
async function answer(
  e: unknown,
): Promise<{ status: number; body: { error: { code: string; message: string } }; text: string; logged: string[] }> {
  const logged: string[] = [];
  const app = new Hono().get("/x", () => {
    throw e;
  });
  app.onError((err, c) => onApiError(err, c, (line) => void logged.push(JSON.stringify(line))));
  const res = await app.request("/x");
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text, logged };
}

test("every agentd error code has an HTTP status, and every status in the table is an error status", () => {
  for (const code of AGENTD_ERROR_CODES) assert.ok(STATUS[code] !== undefined, `no status for ${code}`);
  for (const [code, status] of Object.entries(STATUS)) assert.ok(status >= 400 && status <= 599, `${code}: ${status}`);
});

test("an error of ours answers with its code, the table's status and its message", async () => {
  const a = await answer(notFound("run r1"));
  assert.deepEqual([a.status, a.body], [404, { error: { code: "not_found", message: "run r1 not found" } }]);
  const limited = await answer(new RateLimitedError(5, 12));
  assert.deepEqual([limited.status, limited.body.error.code], [429, "rate_limited"]);
  const kernel = await answer(new InvalidArgumentError("limit must be a positive integer"));
  assert.deepEqual([kernel.status, kernel.body.error.code], [400, "invalid_argument"]);
  assert.equal(statusOf(new AgentdError("secret_reserved", "x")), 403);
  assert.equal(statusOf(new Error("x")), null);
});

test("an unknown error is a 500 that names a reference, never its message; the log has the details", async () => {
  const a = await answer(new TypeError(`cannot read properties of undefined (token ${SECRET})`));
  assert.equal(a.status, 500);
  assert.equal(a.body.error.code, "internal");
  assert.match(a.body.error.message, /reference [0-9a-f]{8}\); the server log has the details/);
  assert.ok(!a.text.includes(SECRET) && !a.text.includes("cannot read"), a.text);
  assert.equal(a.logged.length, 1);
  assert.ok(a.logged[0]!.includes(a.body.error.message.match(/reference ([0-9a-f]{8})/)![1]!));
});

test("secrets never reach the body: a bug of ours, the store's driver, an error's cause", async () => {
  // A 500 of ours (a bug): its message names internals (here the statement, with a value in it).
  const bug = await answer(new UnscopedQueryError(`UPDATE os_secrets SET value = '${SECRET}'`));
  assert.deepEqual([bug.status, bug.body.error.code], [500, "internal"]);
  assert.ok(!bug.text.includes(SECRET));
  // The store's driver may name the host and the password in its message: a 503 in fixed words.
  const down = await answer(new StoreUnreachableError(`connect to postgres://agentd:${SECRET}@db:5432 failed`));
  assert.deepEqual(
    [down.status, down.body],
    [
      503,
      { error: { code: "store_unreachable", message: "the database is unreachable or closing; try again shortly" } },
    ],
  );
  // A 4xx says its own message only, not its cause's.
  const caused = await answer(new AgentdError("bad_request", "the body is not valid", { cause: new Error(SECRET) }));
  assert.equal(caused.status, 400);
  assert.ok(!caused.text.includes(SECRET));
});
