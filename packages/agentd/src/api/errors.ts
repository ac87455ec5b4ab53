import { jsonLogger, KernelError, type Logger } from "@agentd/kernel";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { randomBytes } from "node:crypto";
import { OsError } from "../tenancy/errors.ts";

/** HTTP status of the kernel errors a request can cause; any other kernel error is ours (500). */
const KERNEL_STATUS: Partial<Record<string, ContentfulStatusCode>> = {
  invalid_argument: 400, invalid_duration: 400, invalid_schedule: 400, not_serializable: 400, stream_offset: 400,
  run_not_found: 404, schedule_not_found: 404, unknown_workflow: 404,
  run_finished: 409, run_not_failed: 409, key_conflict: 409, store_refused: 422, schedule_exists: 409,
  value_too_large: 413,
  store_unreachable: 503, store_closed: 503,
};

/** The one shape of every error answer: `{ error: { code, message } }`. */
export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export function errorResponse(c: Context, status: ContentfulStatusCode, code: string, message: string, headers?: Record<string, string>): Response {
  return c.json(errorBody(code, message), status, headers);
}

/**
 * Errors to answers: OsError carries its status (it is authoritative), kernel errors map by code,
 * anything else is a 500 that says only where to look (the log), never the internals.
 */
export function onApiError(e: unknown, c: Context, log: Logger = jsonLogger()): Response {
  if (OsError.is(e)) return errorResponse(c, e.status as ContentfulStatusCode, e.code, e.message);
  if (KernelError.is(e)) {
    const status = KERNEL_STATUS[e.code];
    if (status === 503) return errorResponse(c, 503, e.code, "the database is unreachable or closing; try again shortly");
    if (status) return errorResponse(c, status, e.code, e.message);
  }
  if (e instanceof HTTPException && e.status < 500) return errorResponse(c, e.status as ContentfulStatusCode, "http_error", e.message || "the request was refused");
  // A client that left mid-request is routine, not a failure of ours: nobody reads the answer, nothing to log.
  if (clientLeft(c, e)) return errorResponse(c, 499 as ContentfulStatusCode, "client_closed", "the client closed the connection before the request was read");
  const ref = randomBytes(4).toString("hex");
  const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  log({ level: "error", msg: "api request failed", ref, method: c.req.method, path: c.req.path, error, ...(e instanceof Error ? { stack: e.stack } : {}) });
  return errorResponse(c, 500, "internal", `agentd failed on this request (reference ${ref}); the server log has the details`);
}

function clientLeft(c: Context, e: unknown): boolean {
  return c.req.raw.signal.aborted || (e as NodeJS.ErrnoException | null)?.code === "ECONNRESET";
}

export function onNotFound(c: Context): Response {
  return errorResponse(c, 404, "not_found", `there is no route ${c.req.method} ${c.req.path}; GET /health answers without a token, the rest is under /v1`);
}
