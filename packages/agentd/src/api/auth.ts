import { createHash, timingSafeEqual } from "node:crypto";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { Agentd } from "../app.ts";
import { AgentdError } from "../errors.ts";
import type { AuthThrottle } from "./auth-throttle.ts";
import { clientAddress } from "./client-address.ts";
import type { ApiEnv, Caller, TenantEnv } from "./env.ts";
import { CSRF_HEADER, checkCsrf, findSession, SESSION_COOKIE } from "./sessions.ts";

export const TENANT_HEADER = "x-agentd-tenant";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Compares in constant time whatever the lengths (hashes have one length). */
function sameSecret(given: string, expected: string): boolean {
  return expected.length > 0 && timingSafeEqual(digest(given), digest(expected));
}

const HOW_TO =
  "send Authorization: Bearer <token> with the operator's admin token (AGENTD_ADMIN_TOKEN, or the file admin.token in the data folder) " +
  "or a tenant API key (the operator makes one with POST /v1/tenants/<id>/keys)";

function unauthorized(message: string): AgentdError {
  return new AgentdError("unauthorized", message);
}

/** The caller of a request, from its bearer token. */
export async function identify(app: Agentd, authorization: string | undefined): Promise<Caller> {
  if (!authorization) throw unauthorized(`this route needs a token: ${HOW_TO}`);
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) throw unauthorized(`the Authorization header must read "Bearer <token>": ${HOW_TO}`);
  const token = m[1] as string;
  if (sameSecret(token, app.config.adminToken)) return { kind: "admin", tenantId: null };
  const tenantId = await app.tenants.tenantOfKey(token);
  if (tenantId) return { kind: "tenant", tenantId };
  throw unauthorized(
    "this token is neither the admin token nor a current API key (a revoked key stops working); ask the operator for a new key",
  );
}

/**
 * Identifies the caller of every /v1 request (401 without a valid token; 429 after too many wrong
 * ones): by its bearer token, or, without one, by the dashboard's session cookie (a request that
 * changes something then needs the session's CSRF token too).
 */
export function authenticate(app: Agentd, throttle: AuthThrottle): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const cookie = c.req.header("authorization") === undefined ? getCookie(c, SESSION_COOKIE) : undefined;
    if (cookie === undefined) c.set("caller", await callerOf(app, throttle, c));
    else {
      const session = await findSession(app, cookie);
      if (!session) throw unauthorized("the dashboard session has ended (signed out or expired); sign in again");
      checkCsrf(c.req.method, session, c.req.header(CSRF_HEADER));
      c.set("caller", session.caller);
    }
    await next();
  };
}

/**
 * The caller of a request, refusing a source address that sent too many wrong tokens lately (429
 * with Retry-After) before its token is compared: guessing costs time, not just a 401 each.
 */
export async function callerOf(
  app: Agentd,
  throttle: AuthThrottle,
  c: Context,
  authorization = c.req.header("authorization"),
): Promise<Caller> {
  const address = clientAddress(peerAddress(c), c.req.header("x-forwarded-for"), app.config.trustedProxies);
  const attempt = throttle.begin(address, app.kernel.clock.now());
  if (attempt.wait > 0)
    throw tooMany(c, attempt.wait, attempt.busy ? "are having their tokens checked at once" : "had a wrong token");
  let failed = false;
  try {
    return await identify(app, authorization);
  } catch (e) {
    // A request without a token is not a guess; a wrong one is.
    failed = authorization !== undefined && AgentdError.is(e, "unauthorized");
    throw e;
  } finally {
    attempt.end(failed, app.kernel.clock.now());
  }
}

/** Whether the admin asks (its token, or a dashboard session signed in with it): /health then tells more. */
export async function adminAsks(app: Agentd, throttle: AuthThrottle, c: Context): Promise<boolean> {
  if (c.req.header("authorization") !== undefined) return (await callerOf(app, throttle, c)).kind === "admin";
  const id = getCookie(c, SESSION_COOKIE);
  return id !== undefined && (await findSession(app, id))?.caller.kind === "admin";
}

function tooMany(c: Context, waitMs: number, why: string): AgentdError {
  const seconds = Math.ceil(waitMs / 1000);
  c.header("retry-after", String(seconds));
  return new AgentdError("too_many_failures", `too many requests from this address ${why}; try again in ${seconds} s`);
}

/** The peer's address; "local" for requests handed in without a socket (app.request in tests, serverless). */
function peerAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "local";
  } catch {
    return "local";
  }
}

/** Tenant management and metrics are the operator's: a tenant key is refused (403). */
export function requireAdmin(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (c.get("caller").kind !== "admin")
      throw new AgentdError(
        "forbidden",
        "this route needs the admin token; a tenant API key reaches only its own tenant's routes",
      );
    await next();
  };
}

/** The tenant a request acts for: the key's, or for the admin the one it names (X-Agentd-Tenant). */
export async function actingTenant(app: Agentd, caller: Caller, named: string | null): Promise<string> {
  if (caller.kind === "tenant") {
    if (named && named !== caller.tenantId)
      throw new AgentdError("forbidden", `an API key acts for its own tenant only; drop the ${TENANT_HEADER} header`);
    return caller.tenantId as string;
  }
  if (!named)
    throw new AgentdError(
      "tenant_required",
      "the admin token acts for a tenant only when the request names it: add the header X-Agentd-Tenant: <tenant id>",
    );
  await app.tenants.require(named);
  return named;
}

/** A tenant route acts for one tenant: the key's, or for the admin the one named by X-Agentd-Tenant. */
export function actAsTenant(app: Agentd): MiddlewareHandler<TenantEnv> {
  return async (c, next) => {
    c.set("tenantId", await actingTenant(app, c.get("caller"), c.req.header(TENANT_HEADER)?.trim() || null));
    await next();
  };
}
