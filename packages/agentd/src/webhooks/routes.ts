import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../app.ts";
import { jsonBody, queryOf } from "../api/body.ts";
import { scopeOf, type TenantEnv } from "../api/env.ts";
import { notFound } from "../errors.ts";
import { WEBHOOK_EVENTS } from "./events.ts";
import { webhooks } from "./store.ts";

export const AddWebhook = z.strictObject({
  url: z.string().min(1).max(2000),
  /** The events to send (default: every one). */
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length).optional(),
});
export const ListDeliveries = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });

/** The tenant's outgoing webhooks: add (the signing secret shown once), list, remove, and each one's deliveries. */
export function webhookRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/webhooks", async (c) => c.json({ webhooks: await webhooks.list(scopeOf(app, c)) }))
    .post("/webhooks", jsonBody(AddWebhook), async (c) => {
      const body = c.req.valid("json");
      const events = [...new Set(body.events ?? WEBHOOK_EVENTS)];
      const { webhook, secret } = await app.webhooks.add(c.get("tenantId"), body.url, events);
      return c.json({ webhook, secret }, 201);
    })
    .delete("/webhooks/:id", async (c) => {
      if (!(await app.webhooks.remove(c.get("tenantId"), c.req.param("id"))))
        throw notFound(`webhook ${c.req.param("id")} (GET /v1/webhooks lists this tenant's)`);
      return c.body(null, 204);
    })
    .get("/webhooks/:id/deliveries", queryOf(ListDeliveries), async (c) => {
      const scope = scopeOf(app, c);
      const hook = await webhooks.require(scope, c.req.param("id"));
      return c.json({ deliveries: await webhooks.deliveries(scope, hook.id, c.req.valid("query").limit) });
    });
}
