import { jsonLogger, KernelError, type KernelErrorCode, type Logger } from "@agentd/kernel";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { randomBytes } from "node:crypto";
import { AgentdError, type AgentdErrorCode } from "../errors.ts";

export type ErrorCode = AgentdErrorCode | KernelErrorCode;

/**
 * The HTTP status of every error code, agentd's and the kernel's: the one place a status is chosen
 * (a code added to either union fails the type-check until it has a row). A 500 is a fault of ours
 * or of the machine: its message is kept out of the answer (it may name internals) unless SHOWN lists it.
 */
export const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  // agentd: a request's input or target
  bad_request: 400,
  tenant_required: 400,
  bad_payload: 400,
  malformed_update: 400,
  unauthorized: 401,
  forbidden: 403,
  secret_reserved: 403,
  not_found: 404,
  secret_not_found: 404,
  connection_not_found: 404,
  needs_reconnect: 409,
  oauth_failed: 502,
  conflict: 409,
  host_key_mismatch: 409,
  media_too_large: 413,
  too_many_failures: 429,
  too_many_runs: 429,
  rate_limited: 429,
  // agentd: a service agentd talks to failed
  telegram_unreachable: 502,
  ssh_failed: 502,
  transcription_unavailable: 502,
  // agentd: faults of the machine or bugs; configuration and the command line never answer a request
  master_key_missing: 500,
  secret_undecryptable: 500,
  blob_missing: 500,
  redaction_failed: 500,
  unscoped_query: 500,
  config: 500,
  master_key: 500,
  os_schema_too_new: 500,
  usage: 500,
  cli_failed: 500,
  cli_unreachable: 500,
  cli_refused: 500,
  // agentd: raised inside tools and channels' own handling, not by a request's handler (their messages may name internal addresses)
  blocked_address: 500,
  bad_url: 500,
  dns: 500,
  network: 500,
  timeout: 500,
  too_many_redirects: 500,
  bad_response: 500,
  media_fetch: 500,
  graph_api: 500,
  not_configured: 500,
  quota: 500,
  unavailable: 500,
  limit: 500,
  stale: 500,
  refused: 500,
  failed: 500,
  // the kernel: what a request can cause
  invalid_argument: 400,
  invalid_duration: 400,
  invalid_schedule: 400,
  not_serializable: 400,
  stream_offset: 400,
  run_not_found: 404,
  schedule_not_found: 404,
  unknown_workflow: 404,
  run_finished: 409,
  run_not_failed: 409,
  key_conflict: 409,
  schedule_exists: 409,
  value_too_large: 413,
  store_refused: 422,
  store_unreachable: 503,
  store_closed: 503,
  // the kernel: faults of ours
  fatal: 500,
  retryable: 500,
  non_determinism: 500,
  duplicate_workflow: 500,
  invalid_retry_policy: 500,
  lease_lost: 500,
  step_timeout: 500,
  run_timeout: 500,
  cancelled: 500,
  step_failed: 500,
  child_failed: 500,
  run_failed: 500,
  schema_too_new: 500,
};

/** 500s whose message is written for the caller (it names no internals and no secret): what the operator must fix. */
const SHOWN: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "master_key_missing",
  "secret_undecryptable",
  "blob_missing",
]);

/** The store is down or closing: the answer says so in fixed words (the driver's may name hosts). */
const STORE_DOWN = "the database is unreachable or closing; try again shortly";

/** The status an error of ours answers with, or null for an error that is not ours (a 500 that says only where to look). */
export function statusOf(e: unknown): ContentfulStatusCode | null {
  if (AgentdError.is(e) || KernelError.is(e)) return STATUS[e.code] ?? null;
  return null;
}

/** The one shape of every error answer: `{ error: { code, message } }`. */
export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  headers?: Record<string, string>,
): Response {
  return c.json(errorBody(code, message), status, headers);
}

/**
 * Errors to answers: agentd's and the kernel's map by code (STATUS); anything else, and a 500 of ours
 * that SHOWN does not list, is a 500 that says only where to look (the log), never the internals.
 */
export function onApiError(e: unknown, c: Context, log: Logger = jsonLogger()): Response {
  const status = statusOf(e);
  if (status !== null && (AgentdError.is(e) || KernelError.is(e))) {
    if (status === 503) return errorResponse(c, 503, e.code, STORE_DOWN);
    if (status !== 500 || SHOWN.has(e.code)) return errorResponse(c, status, e.code, e.message);
  }
  if (e instanceof HTTPException && e.status < 500)
    return errorResponse(c, e.status as ContentfulStatusCode, "http_error", e.message || "the request was refused");
  // A client that left mid-request is routine, not a failure of ours: nobody reads the answer, nothing to log.
  if (clientLeft(c, e))
    return errorResponse(
      c,
      499 as ContentfulStatusCode,
      "client_closed",
      "the client closed the connection before the request was read",
    );
  const ref = randomBytes(4).toString("hex");
  const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  log({
    level: "error",
    msg: "api request failed",
    ref,
    method: c.req.method,
    path: c.req.path,
    error,
    ...(e instanceof Error ? { stack: e.stack } : {}),
  });
  return errorResponse(
    c,
    500,
    "internal",
    `agentd failed on this request (reference ${ref}); the server log has the details`,
  );
}

function clientLeft(c: Context, e: unknown): boolean {
  return c.req.raw.signal.aborted || (e as NodeJS.ErrnoException | null)?.code === "ECONNRESET";
}

export function onNotFound(c: Context): Response {
  return errorResponse(
    c,
    404,
    "not_found",
    `there is no route ${c.req.method} ${c.req.path}; GET /health answers without a token, the rest is under /v1`,
  );
}
