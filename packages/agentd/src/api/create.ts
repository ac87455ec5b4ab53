import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Agentd } from "../app.ts";
import { noteTenant } from "./access-log.ts";
import { authenticate } from "./auth.ts";
import { AuthThrottle } from "./auth-throttle.ts";
import type { ApiEnv, TenantEnv } from "./env.ts";
import { errorResponse, onApiError, onNotFound } from "./errors.ts";
import { OPENAI_BASE, openaiApp } from "../openai/index.ts";
import { handoffRoutes } from "./routes/handoff.ts";
import { oauthCallbackRoutes } from "./routes/connections.ts";
import { composioCallbackRoutes } from "./routes/composio.ts";
import { healthRoutes } from "./routes/health.ts";
import { adminApp, type Mount, tenantApp, webhookApp } from "./sub-apps.ts";

export interface ApiOptions {
  /** Channel webhooks, served outside /v1 (they check their own signatures, not API tokens). */
  mounts?: Mount[];
  /** More tenant routes (served under /v1, each acting for one tenant like the built-in ones). */
  tenantRoutes?: Hono<TenantEnv>[];
  /** Wrong tokens per address, shared with the dashboard's sign-in so both count the same guesses. */
  throttle?: AuthThrottle;
}

/**
 * agentd's HTTP API as a Hono app: `/health` and `/metrics`, the channels' webhooks, and under /v1
 * (a token needed) the operator's sub-app (`/v1/tenants`) and the tenant's. Serve it with
 * `serveApi`, or call `api.request()` in tests.
 */
export function createApi(app: Agentd, opts: ApiOptions = {}) {
  const max = app.config.maxBodyBytes;
  const throttle = opts.throttle ?? new AuthThrottle();
  // The API reference needs no token: it holds no data, and a client reads it before it has one.
  // It is made on the first request for it (200 KB, and its module loads the table of operations),
  // not with every process.
  let reference: Promise<string> | undefined;
  // One chain, in the order requests meet it: its type is the typed client's (`AgentdApi`, api/client.ts).
  const api = new Hono<ApiEnv>()
    // Served behind a handler of its own (lazy-api.ts), its context is not the server's: the access
    // log finds the tenant a request acted for by the request.
    .use("*", async (c, next) => {
      await next();
      const tenant = c.get("tenantId" as never) as string | undefined;
      if (tenant) noteTenant(c.req.raw, tenant);
    })
    .use(
      "*",
      bodyLimit({
        maxSize: max,
        onError: (c) =>
          errorResponse(
            c,
            413,
            "too_large",
            `the body is over ${max} bytes, the most this server accepts (AGENTD_MAX_BODY_BYTES)`,
          ),
      }),
    )
    .route("/", healthRoutes(app, throttle))
    .route("/", webhookApp(opts.mounts ?? []))
    .route("/", handoffRoutes(app))
    .route("/", oauthCallbackRoutes(app))
    .route(OPENAI_BASE, openaiApp(app, throttle))
    .route("/", composioCallbackRoutes(app))
    .get("/v1/openapi.json", async (c) => {
      reference ??= import("./openapi.ts")
        .then((m) => JSON.stringify(m.openApiDocument()))
        .catch((e: unknown) => {
          reference = undefined;
          throw e;
        });
      return c.body(await reference, 200, { "content-type": "application/json; charset=utf-8" });
    })
    .use("/v1/*", authenticate(app, throttle))
    .route("/v1", adminApp(app))
    .route("/v1", tenantApp(app, opts.tenantRoutes));
  api.notFound(onNotFound);
  api.onError((e, c) => onApiError(e, c, app.log));
  return api;
}

/** agentd's HTTP API as a type: what `hc<AgentdApi>` (the typed client, api/client.ts) knows of its routes. */
export type AgentdApi = ReturnType<typeof createApi>;
