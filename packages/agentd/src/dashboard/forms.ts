import type { Context } from "hono";
import { checkCsrf } from "../api/sessions.ts";
import type { DashEnv } from "./viewer.ts";

/**
 * A form that changes something: from this site (Origin, when the browser sends it) and with the
 * session's CSRF token in its _csrf field; else an error the page shows (403).
 */
export async function formOf(c: Context<DashEnv>): Promise<Record<string, string | string[]>> {
  const v = c.get("viewer");
  const body = await c.req.parseBody({ all: true });
  const form: Record<string, string | string[]> = {};
  for (const [k, x] of Object.entries(body)) {
    if (typeof x === "string") form[k] = x;
    else if (Array.isArray(x)) form[k] = x.filter((y): y is string => typeof y === "string");
  }
  const csrf = typeof form._csrf === "string" ? form._csrf : undefined;
  checkCsrf("POST", { caller: v.caller, csrf: v.csrf, expiresAt: 0 }, sameOrigin(c) ? csrf : undefined);
  return form;
}

/** True unless the browser says the request came from another origin. */
export function sameOrigin(c: Context): boolean {
  const origin = c.req.header("origin");
  if (origin === undefined) return c.req.header("sec-fetch-site") !== "cross-site";
  const host = c.req.header("host");
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export const one = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? "") : (v ?? ""));
