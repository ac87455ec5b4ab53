import { Hono } from "hono";
import type { Agentd } from "../../app.ts";
import { type SavedBrowser, STATE_SECRET } from "../../tools/browser/state.ts";
import { TENANT_SECRET } from "../../tools/web-search/service.ts";
import { type TenantEnv, scopeOf } from "../env.ts";
import { notFound } from "../../errors.ts";

/** The one profile a tenant's browser keeps (cookies and local storage, the open pages), sealed in its vault. */
const PROFILE = "default";

/**
 * What the tenant's web_search and browser tools work with, for people to see: the search provider
 * its searches go to (its own, with its key from the vault, or the deployment's), and the browser
 * profile kept between steps (which sites it is signed in to, never the cookies themselves), which
 * the tenant may forget.
 */
export function toolStateRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/search/providers", async (c) => {
      const scope = scopeOf(app, c);
      const own = (await app.tenants.require(scope.tenantId)).settings.searchProvider;
      if (own) {
        const secret = TENANT_SECRET[own];
        const ready = (await app.vault.list(scope)).some((s) => s.name === secret);
        const detail = ready
          ? `the tenant's own, with its vault secret ${secret}`
          : `the tenant's own, but its vault has no ${secret}: searches fail until it is stored`;
        return c.json({ enabled: true, providers: [{ name: own, source: "tenant", ready, detail }] });
      }
      const p = app.config.search.provider;
      if (!p) return c.json({ enabled: false, providers: [] });
      return c.json({
        enabled: true,
        providers: [{ name: p, source: "operator", ready: true, detail: "the deployment's" }],
      });
    })
    .get("/browser/profiles", async (c) => {
      const state = await savedBrowser(app, c);
      return c.json({ enabled: app.browser !== null, profiles: state ? [profileView(state)] : [] });
    })
    .delete("/browser/profiles/:name", async (c) => {
      const scope = scopeOf(app, c);
      if (c.req.param("name") !== PROFILE || !(await app.vault.get(scope, STATE_SECRET)))
        throw notFound(`browser profile ${c.req.param("name")}`);
      await app.vault.delete(scope, STATE_SECRET);
      // This worker's open context would save its cookies back at its next step: closed unsaved.
      await app.browser?.forget(scope.tenantId);
      return c.body(null, 204);
    });
}

async function savedBrowser(app: Agentd, c: import("hono").Context<TenantEnv>): Promise<SavedBrowser | null> {
  const json = await app.vault.get(scopeOf(app, c), STATE_SECRET);
  if (!json) return null;
  try {
    const s = JSON.parse(json) as SavedBrowser;
    return Array.isArray(s.storage?.cookies) && Array.isArray(s.pages) ? s : null;
  } catch {
    return null;
  }
}

/** Sites, not cookies: a cookie's value is a session a person signed in to. Pages by origin only (a URL may carry a token). */
function profileView(s: SavedBrowser) {
  const sites = [...new Set(s.storage.cookies.map((k) => k.domain.replace(/^\./, "")))].sort();
  const pages = s.pages.flatMap((u) => {
    try {
      return [new URL(u).origin];
    } catch {
      return [];
    }
  });
  return { name: PROFILE, sites, cookies: s.storage.cookies.length, origins: s.storage.origins.length, pages };
}
