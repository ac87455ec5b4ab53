import { Hono } from "hono";
import type { Agentd } from "../app.ts";
import { actAsTenant, authenticate } from "../api/auth.ts";
import type { AuthThrottle } from "../api/auth-throttle.ts";
import type { TenantEnv } from "../api/env.ts";
import { chatRoutes } from "./chat.ts";
import { onOpenaiError, openaiError } from "./errors.ts";
import { modelList } from "./models.ts";
import { responseRoutes } from "./responses.ts";

/** Where the OpenAI-compatible endpoint is mounted: beside agentd's own /v1, never inside it. */
export const OPENAI_BASE = "/openai/v1";

/**
 * The OpenAI-compatible endpoint (mount at OPENAI_BASE): a tenant's API key as the bearer token,
 * its agent as the one model, each conversation an agentd session (channel "openai"), so its
 * memory, tools, approvals and schedules work through any OpenAI client. Errors in OpenAI's shape.
 */
export function openaiApp(app: Agentd, throttle: AuthThrottle) {
  const routes = new Hono<TenantEnv>()
    .use("*", authenticate(app, throttle) as never, actAsTenant(app))
    .get("/models", async (c) => {
      const tenant = await app.tenants.require(c.get("tenantId"));
      return c.json(modelList(tenant.id, Math.floor(tenant.createdAt / 1000)));
    })
    .route("/", chatRoutes(app))
    .route("/", responseRoutes(app))
    .all("*", (c) =>
      openaiError(
        c,
        404,
        "not_found",
        `there is no route ${c.req.method} ${OPENAI_BASE}${c.req.path.slice(OPENAI_BASE.length)}; this endpoint serves GET /models, POST /chat/completions and POST /responses`,
      ),
    );
  routes.onError((e, c) => onOpenaiError(e, c, app.log));
  return routes;
}
