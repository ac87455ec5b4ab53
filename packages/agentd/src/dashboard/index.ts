import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { html } from "hono/html";
import type { Agentd } from "../app.ts";
import type { AuthThrottle } from "../api/auth-throttle.ts";
import { callerOf } from "../api/auth.ts";
import { closeSession, findSession, openSession, SESSION_COOKIE, SESSION_TTL_MS } from "../api/sessions.ts";
import { AgentdError } from "../errors.ts";
import { type ApiApp, ApiAnswerError } from "./api.ts";
import { sameOrigin } from "./forms.ts";
import { bare, CSP, page } from "./page.ts";
import { approvalPages } from "./views/approvals.ts";
import { chatPages } from "./views/chat.ts";
import { memoryPages } from "./views/memory.ts";
import { overviewPages } from "./views/overview.ts";
import { runPages } from "./views/runs.ts";
import { schedulePages } from "./views/schedules.ts";
import { sessionPages } from "./views/sessions.ts";
import { tenantPages } from "./views/tenants.ts";
import { toolPages } from "./views/tools.ts";
import { type DashEnv, signedIn, TENANT_COOKIE } from "./viewer.ts";

/**
 * The dashboard: pages rendered here (hono/html) from what the API answers, plus one small script
 * (assets/dash.js, no framework, no build step) for what pages cannot do alone: a run's live stream,
 * the chat's token-by-token reply resumed after a reload, and times in the viewer's zone. Every
 * form works without the script. Why not an SPA or htmx: the pages are lists and forms; the few
 * live parts need fetch-streamed SSE with headers (CSRF, tenant), which the script does in ~6 KB.
 */
const ASSETS: Record<string, { body: string; type: string }> = {
  "dash.js": { body: asset("dash.js"), type: "text/javascript; charset=utf-8" },
  "dash.css": { body: asset("dash.css"), type: "text/css; charset=utf-8" },
};

function asset(name: string): string {
  return readFileSync(join(import.meta.dirname, "assets", name), "utf8");
}

export interface DashboardOptions {
  /** The API app the pages read and act through (in this process). */
  api: ApiApp;
  /** Wrong tokens per address, shared with the API. */
  throttle: AuthThrottle;
}

export function dashboardApp(app: Agentd, o: DashboardOptions): Hono<DashEnv> {
  const r = new Hono<DashEnv>();
  const guard = signedIn(app, o.api);
  // Headers on the dashboard's own paths only (a "*" middleware would reach the API's paths too).
  const headers = async (c: import("hono").Context, next: () => Promise<void>) => {
    await next();
    c.header("content-security-policy", CSP);
    c.header("x-content-type-options", "nosniff");
    // same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on form posts, which sameOrigin refuses.
    c.header("referrer-policy", "same-origin");
    c.header("x-frame-options", "DENY");
    if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
  };
  const paths = ["/", "/login", "/logout", "/tenant", "/assets/*", "/runs", "/runs/*", "/approvals", "/approvals/*"];
  for (const p of [...paths, "/schedules", "/schedules/*", "/chat", "/sessions", "/sessions/*", "/memory"])
    r.use(p, headers);
  for (const p of ["/memory/*", "/tools", "/tools/*", "/tenants", "/tenants/*"]) r.use(p, headers);

  r.get("/assets/:name", (c) => {
    const a = ASSETS[c.req.param("name")];
    if (!a) return c.text("not found", 404);
    return c.body(a.body, 200, { "content-type": a.type, "cache-control": "no-cache" });
  });

  r.get("/login", async (c) => {
    const id = getCookie(c, SESSION_COOKIE);
    if (id && (await findSession(app, id))) return c.redirect(safeNext(c.req.query("next")), 303);
    return signIn(c, safeNext(c.req.query("next")));
  });
  r.post("/login", async (c) => {
    if (!sameOrigin(c)) return signIn(c, "/", "This sign-in came from another site; use this page's form.", 403);
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    if (!token) return signIn(c, next, "Paste the admin token or a tenant API key.", 401);
    try {
      const caller = await callerOf(app, o.throttle, c, `Bearer ${token}`);
      const { id } = await openSession(app, caller, token);
      setCookie(c, SESSION_COOKIE, id, {
        httpOnly: true,
        sameSite: "Strict",
        path: "/",
        secure: new URL(c.req.url).protocol === "https:",
        maxAge: Math.floor(SESSION_TTL_MS / 1000),
      });
      return c.redirect(next, 303);
    } catch (e) {
      if (AgentdError.is(e, "unauthorized")) return signIn(c, next, e.message, 401);
      if (AgentdError.is(e, "too_many_failures")) return signIn(c, next, e.message, 429);
      throw e;
    }
  });
  r.post("/logout", guard, async (c) => {
    const v = c.get("viewer");
    const form = await c.req.parseBody();
    if (form._csrf !== v.csrf || !sameOrigin(c)) return c.text("Sign out from the dashboard's own button.", 403);
    await closeSession(app, v.sessionId);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/login", 303);
  });
  r.get("/tenant", guard, (c) => {
    const id = c.req.query("id") ?? "";
    if (c.get("viewer").tenants.some((t) => t.id === id))
      setCookie(c, TENANT_COOKIE, id, { sameSite: "Strict", path: "/", httpOnly: true });
    // A run of another tenant, opened from the operator's list, is read as that tenant.
    return c.redirect(safeNext(c.req.query("next")), 303);
  });

  const routes = { r, guard, app };
  overviewPages(routes);
  runPages(routes);
  approvalPages(routes);
  schedulePages(routes);
  chatPages(routes);
  sessionPages(routes);
  memoryPages(routes);
  toolPages(routes);
  tenantPages(routes);

  r.onError((e, c) => {
    const v = c.get("viewer");
    const known = e instanceof ApiAnswerError ? e : AgentdError.is(e) ? e : null;
    if (!known || !v) throw e;
    const status = e instanceof ApiAnswerError ? e.status : AgentdError.is(e, "forbidden") ? 403 : 400;
    const shown = (status === 404 ? 404 : status === 403 ? 403 : status === 409 ? 409 : 400) as 404 | 403 | 409 | 400;
    return page(
      c,
      v,
      status === 404 ? "Not found" : "That did not work",
      html`<p class="error" role="alert">${e.message}</p><p><a href="/">Back to the overview</a></p>`,
      shown,
    );
  });
  return r;
}

/** Only a path of this site: an open redirect would make the sign-in page a phishing relay. */
function safeNext(next: string | undefined): string {
  return next?.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

function signIn(c: import("hono").Context, next: string, error?: string, status: 200 | 401 | 403 | 429 = 200) {
  return bare(
    c,
    "Sign in",
    html`<form method="post" action="/login" class="signin">
  <h1>agentd</h1>
  <p>Sign in with the operator's admin token (all tenants) or a tenant's API key (that tenant).</p>
  ${error ? html`<p class="error" role="alert">${error}</p>` : ""}
  <label for="token">Token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <input type="hidden" name="next" value="${next}">
  <button type="submit">Sign in</button>
  <p class="muted">The token is exchanged for a session cookie (12 hours); it is not kept in the browser.</p>
</form>`,
    status,
  );
}
