import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { Agentd } from "../app.ts";
import type { Caller } from "../api/env.ts";
import { findSession, SESSION_COOKIE } from "../api/sessions.ts";
import { type ApiApp, SessionApi } from "./api.ts";

/** Which tenant the operator's pages act for (a view preference, not a credential). */
export const TENANT_COOKIE = "agentd_tenant";

/** Who is looking at a page, and the API as they reach it. */
export interface Viewer {
  caller: Caller;
  sessionId: string;
  csrf: string;
  /** The tenant the pages act for: the key's, or the one the operator picked (null: none exists yet). */
  tenantId: string | null;
  tenantName: string | null;
  /** The operator's tenants, for the picker (empty for a tenant). */
  tenants: { id: string; name: string }[];
  api: SessionApi;
  /** The API acting for another tenant (the operator's pages about one tenant: its bots). */
  apiFor(tenantId: string): SessionApi;
}

export interface DashEnv {
  Variables: { viewer: Viewer };
}

/** Pages need a session: without one, a page sends the browser to the sign-in form (and back after). */
export function signedIn(app: Agentd, api: ApiApp): MiddlewareHandler<DashEnv> {
  return async (c, next) => {
    const id = getCookie(c, SESSION_COOKIE);
    const session = id ? await findSession(app, id) : null;
    if (!id || !session) {
      if (c.req.method !== "GET") return c.text("Your session has ended: sign in again.", 401);
      const back = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(back.pathname + back.search)}`, 303);
    }
    let tenantId = session.caller.tenantId;
    let tenants: { id: string; name: string }[] = [];
    if (session.caller.kind === "admin") {
      const list = await new SessionApi(api, { id, csrf: session.csrf }, null).get<{ tenants: Viewer["tenants"] }>(
        "/v1/tenants",
        { limit: 500 },
      );
      tenants = list.tenants.map((t) => ({ id: t.id, name: t.name }));
      const picked = getCookie(c, TENANT_COOKIE);
      tenantId = tenants.find((t) => t.id === picked)?.id ?? tenants[0]?.id ?? null;
    }
    c.set("viewer", {
      caller: session.caller,
      sessionId: id,
      csrf: session.csrf,
      tenantId,
      tenantName: tenants.find((t) => t.id === tenantId)?.name ?? null,
      tenants,
      api: new SessionApi(api, { id, csrf: session.csrf }, tenantId),
      // A tenant's session still acts for its own tenant only: the API refuses any other (403).
      apiFor: (other) => new SessionApi(api, { id, csrf: session.csrf }, other),
    });
    await next();
  };
}

export const viewerOf = (c: Context<DashEnv>): Viewer => c.get("viewer");
