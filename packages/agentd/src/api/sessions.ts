import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Agentd } from "../app.ts";
import { AgentdError } from "../errors.ts";
import { hashKey } from "../tenancy/tenants.ts";
import type { Caller } from "./env.ts";

/**
 * Browser sessions of the dashboard: a token (the admin token or a tenant API key) is exchanged
 * once, at sign-in, for a random session id in an HttpOnly, SameSite=Strict cookie. Only hashes are
 * stored (the id's, and the credential's, so a revoked key or a changed admin token ends its
 * sessions at once). Every request that changes something also carries the session's CSRF token.
 */
export const SESSION_COOKIE = "agentd_session";
export const CSRF_HEADER = "x-csrf-token";
/** How long a sign-in lasts; signing in again starts a new one. */
export const SESSION_TTL_MS = 12 * 3600_000;

export interface BrowserSession {
  caller: Caller;
  csrf: string;
  expiresAt: number;
}

interface Row {
  kind: string;
  tenant_id: string | null;
  credential_hash: string;
  csrf: string;
  expires_at: number | string;
}

/** Starts a session for a caller identified by `token`; returns the cookie's value and the session. */
export async function openSession(
  app: Agentd,
  caller: Caller,
  token: string,
): Promise<{ id: string; session: BrowserSession }> {
  const id = randomBytes(32).toString("base64url");
  const csrf = randomBytes(24).toString("base64url");
  const now = app.kernel.clock.now();
  const expiresAt = now + SESSION_TTL_MS;
  // Expired sessions are removed as new ones start: no sweeper to run, the table stays small.
  await app.db.run("DELETE FROM os_browser_sessions WHERE expires_at <= ?", [now]);
  await app.db.run(
    "INSERT INTO os_browser_sessions (id_hash, kind, tenant_id, credential_hash, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [hashKey(id), caller.kind, caller.tenantId, hashKey(token), csrf, now, expiresAt],
  );
  return { id, session: { caller, csrf, expiresAt } };
}

/** The live session of a cookie's value, or null (unknown, expired, or its credential no longer valid). */
export async function findSession(app: Agentd, id: string): Promise<BrowserSession | null> {
  if (id.length === 0 || id.length > 100) return null;
  const row = await app.db.get<Row>(
    "SELECT kind, tenant_id, credential_hash, csrf, expires_at FROM os_browser_sessions WHERE id_hash = ?",
    [hashKey(id)],
  );
  if (!row || Number(row.expires_at) <= app.kernel.clock.now()) return null;
  if (row.kind === "admin") {
    if (row.credential_hash !== hashKey(app.config.adminToken)) return null;
  } else {
    const key = await app.db.get(
      "SELECT 1 AS ok FROM os_api_keys WHERE hash = ? AND tenant_id = ? AND revoked_at IS NULL",
      [row.credential_hash, row.tenant_id],
    );
    if (!key) return null;
  }
  return {
    caller: { kind: row.kind === "admin" ? "admin" : "tenant", tenantId: row.tenant_id },
    csrf: row.csrf,
    expiresAt: Number(row.expires_at),
  };
}

export async function closeSession(app: Agentd, id: string): Promise<void> {
  await app.db.run("DELETE FROM os_browser_sessions WHERE id_hash = ?", [hashKey(id)]);
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses a request that changes something without the session's CSRF token (header or form field).
 * SameSite=Strict already keeps other sites' requests from carrying the cookie; the token also holds
 * where that is not enough (a sibling subdomain, an old browser).
 */
export function checkCsrf(method: string, session: BrowserSession, given: string | undefined): void {
  if (SAFE.has(method.toUpperCase())) return;
  const a = Buffer.from(given ?? "");
  const b = Buffer.from(session.csrf);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    throw new AgentdError(
      "forbidden",
      `a signed-in browser's request that changes something needs its CSRF token (the ${CSRF_HEADER} header or the _csrf form field of the page); reload the page and try again`,
    );
}
