import { Hono } from "hono";
import type { Agentd } from "../../app.ts";
import { AgentdError, badRequest } from "../../errors.ts";
import { handoffEvent, handoffs } from "../../tools/browser/handoffs.ts";
import { LiveInput, liveInput, liveScreen } from "../../tools/browser/live-view.ts";
import { LIVE_VIEW_PAGE } from "../../tools/browser/live-view-page.ts";
import { jsonBody } from "../body.ts";

/** Nothing of the live view is cached, framed, or leaks its token in a Referer. */
const PRIVATE = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
};

/**
 * A handoff's live view, outside /v1: the link's token (kept hashed, for one pending handoff of one
 * tenant, until Done or its expiry) is the credential, since the person opens it from a chat where
 * they have no API token. It reaches that tenant's browser and nothing else.
 */
export function handoffRoutes(app: Agentd) {
  const open = async (token: string) => {
    const h = await handoffs.byToken(app.db, token, app.deps.now());
    if (!h) throw new AgentdError("not_found", "this link has ended (the handoff is done or expired)");
    if (!app.browser) throw new AgentdError("unavailable", "this agentd runs no browser (AGENTD_BROWSER=0)");
    return h;
  };
  return new Hono()
    .get("/handoff/:token", async (c) => {
      await open(c.req.param("token"));
      return c.html(LIVE_VIEW_PAGE, 200, {
        ...PRIVATE,
        "content-security-policy":
          "default-src 'none'; img-src 'self'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      });
    })
    .get("/handoff/:token/screen", async (c) => {
      const h = await open(c.req.param("token"));
      const { png } = await liveScreen(app.browser!, h.tenantId);
      return c.body(png as Uint8Array<ArrayBuffer>, 200, { ...PRIVATE, "content-type": "image/png" });
    })
    .post("/handoff/:token/input", jsonBody(LiveInput), async (c) => {
      const h = await open(c.req.param("token"));
      try {
        await liveInput(app.browser!, h.tenantId, c.req.valid("json"));
      } catch (e) {
        throw badRequest(`the page did not take it: ${(e as Error).message.split("\n")[0]}`);
      }
      return c.json({ ok: true }, 200, PRIVATE);
    })
    .post("/handoff/:token/done", async (c) => {
      const h = await open(c.req.param("token"));
      if (await handoffs.finish(app.tenants.scope(h.tenantId), h.id, "done", app.deps.now()))
        await app.kernel.sendEvent(h.runId, handoffEvent(h.id), { by: "live view" }, { eventId: h.id });
      return c.json({ ok: true }, 200, PRIVATE);
    });
}
