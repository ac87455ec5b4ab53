import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { AgentdError } from "../../errors.ts";
import { jsonBody } from "../body.ts";
import { statusOf } from "../errors.ts";
import { type TenantEnv, scopeOf } from "../env.ts";

/** A tenant's own app: the same fields as the operator's (AGENTD_OAUTH_APPS), checked by the service. */
export const PutApp = z.looseObject({ clientId: z.string() });

/** The tenant's OAuth connections and its own apps; connecting happens in a chat (a link is sent) or through the callback below. */
export function connectionRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/connections", async (c) => c.json({ connections: await app.connections.list(scopeOf(app, c)) }))
    .post("/connections/:name/connect", async (c) => {
      const scope = scopeOf(app, c);
      const name = c.req.param("name");
      const ready = await app.connections.prepare(scope, name);
      if (ready.kind === "error") throw new AgentdError("not_found", ready.message);
      const appName =
        ready.kind === "connect"
          ? ready.app
          : ((await app.connections.list(scope)).find((x) => x.name === name)?.app ?? name);
      const id = `oap_api_${randomBytes(9).toString("hex")}`;
      const { url } = await app.connections.begin(scope, {
        id,
        connection: name,
        app: appName,
        runId: null,
        sessionId: null,
      });
      return c.json({ url });
    })
    .post("/connections/:name/test", async (c) =>
      c.json(await app.connections.test(scopeOf(app, c), c.req.param("name"))),
    )
    .delete("/connections/:name", async (c) =>
      c.json(await app.connections.remove(scopeOf(app, c), c.req.param("name"))),
    )
    .get("/oauth-apps", async (c) => c.json({ apps: await app.connections.apps(scopeOf(app, c)) }))
    .put("/oauth-apps/:name", jsonBody(PutApp), async (c) =>
      c.json(await app.connections.putApp(scopeOf(app, c), { ...c.req.valid("json"), name: c.req.param("name") })),
    )
    .delete("/oauth-apps/:name", async (c) => {
      await app.connections.deleteApp(scopeOf(app, c), c.req.param("name"));
      return c.body(null, 204);
    });
}

/** A page for the person a provider sent back: what happened, escaped. */
export const page = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title><p>${text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")}</p>`;

/**
 * Where a provider sends the person back (outside /v1, no token: the state in the query names the
 * authorization and so the tenant). The page says what happened; the waiting run goes on by itself.
 */
export function oauthCallbackRoutes(app: Agentd) {
  return new Hono().get("/oauth/callback", async (c) => {
    try {
      const r = await app.connections.complete(new URL(c.req.url));
      return c.html(page(r.ok ? "Connected" : "Not connected", r.message), r.ok ? 200 : 400);
    } catch (e) {
      if (!AgentdError.is(e)) throw e;
      const status = statusOf(e) ?? 400;
      return c.html(page("Not connected", e.message), status === 500 ? 502 : status);
    }
  });
}
