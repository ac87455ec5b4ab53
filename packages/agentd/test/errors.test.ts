// The base of agentd's errors: `is()` by class and code, across two copies of the module.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MediaTooLargeError } from "../src/blobs/local.ts";
import { CliError, UsageError } from "../src/cli/errors.ts";
import { ConfigError } from "../src/config.ts";
import { AGENTD_ERROR_CODES, AgentdError, notFound } from "../src/errors.ts";
import { BlockedAddressError, NetError } from "../src/net/errors.ts";
import { RateLimitedError } from "../src/tenancy/quotas.ts";
import { UnscopedQueryError } from "../src/tenancy/scope.ts";
import { MasterKeyError } from "../src/vault/keys.ts";
import { RedactionError } from "../src/vault/redact.ts";

test("is() tells classes and codes apart: a subclass is its ancestors, a sibling is not", () => {
  const big = new MediaTooLargeError(2000, 1000);
  assert.ok(MediaTooLargeError.is(big) && AgentdError.is(big) && AgentdError.is(big, "media_too_large"));
  assert.equal(AgentdError.is(big, "not_found"), false);
  assert.equal(RateLimitedError.is(big), false);
  assert.equal(MediaTooLargeError.is(notFound("x")), false, "the base is not every subclass");
  assert.equal(big.name, "MediaTooLargeError");
  for (const other of [new Error("x"), { code: "not_found", message: "x" }, null, undefined, "not_found"])
    assert.equal(AgentdError.is(other), false);
});

test("is() works across two copies of agentd, where instanceof does not", async () => {
  // Another URL is another module instance: what a duplicate install or a bundle gives.
  const copy = (await import(`../src/errors.ts?copy=${Date.now()}`)) as typeof import("../src/errors.ts");
  assert.notEqual(copy.AgentdError, AgentdError);
  const theirs = new copy.AgentdError("not_found", "run x not found");
  assert.equal(theirs instanceof AgentdError, false, "the premise: instanceof fails across copies");
  assert.ok(AgentdError.is(theirs) && AgentdError.is(theirs, "not_found"));
  assert.equal(AgentdError.is(theirs, "conflict"), false);
  const ours = new RateLimitedError(10, 3);
  assert.ok(copy.AgentdError.is(ours, "rate_limited"));
});

test("every class has a code from the closed list, and no code is listed twice", () => {
  const errors = [
    new MediaTooLargeError(2, 1),
    new RateLimitedError(1, 1),
    new UnscopedQueryError("SELECT 1"),
    new RedactionError(),
    new ConfigError("x"),
    new MasterKeyError("x"),
    new UsageError("x"),
    new CliError("x"),
    new CliError("x", { code: "cli_refused", status: 404, serverCode: "not_found" }),
    new NetError("timeout", "https://example.com/", "x"),
    new BlockedAddressError("h", 80, "10.0.0.1", { kind: "range", range: "10.0.0.0/8", why: "private" }),
  ];
  for (const e of errors)
    assert.ok(AgentdError.is(e) && (AGENTD_ERROR_CODES as readonly string[]).includes(e.code), `${e.name}: ${e.code}`);
  assert.equal(new Set(AGENTD_ERROR_CODES).size, AGENTD_ERROR_CODES.length);
});

test("the marker that is() reads is not enumerable: it never reaches JSON or a log line", () => {
  const e = new ConfigError("AGENTD_PORT is not valid");
  assert.deepEqual(Object.getOwnPropertySymbols({ ...e }), []);
  assert.equal(JSON.stringify(e), '{"code":"config","name":"ConfigError"}');
});
