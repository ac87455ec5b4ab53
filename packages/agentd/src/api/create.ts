import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Agentd } from "../app.ts";
import { actAsTenant, authenticate, requireAdmin } from "./auth.ts";
import { AuthThrottle } from "./auth-throttle.ts";
import type { ApiEnv } from "./env.ts";
import { errorResponse, onApiError, onNotFound } from "./errors.ts";
import { approvalRoutes } from "./routes/approvals.ts";
import { blobRoutes } from "./routes/blobs.ts";
import { botRoutes } from "./routes/bots.ts";
import { openApiDocument } from "./openapi.ts";
import { healthRoutes } from "./routes/health.ts";
import { memoryRoutes } from "./routes/memory.ts";
import { messageRoutes } from "./routes/messages.ts";
import { policyRoutes } from "./routes/policies.ts";
import { runRoutes } from "./routes/runs.ts";
import { scheduleRoutes } from "./routes/schedules.ts";
import { secretRoutes } from "./routes/secrets.ts";
import { tenantRoutes } from "./routes/tenants.ts";
import { usageRoutes } from "./routes/usage.ts";

/** The first segment after /v1 of every route that acts for one tenant. */
const TENANT_PREFIXES = ["messages", "sessions", "runs", "schedules", "approvals", "memory", "secrets", "policies", "usage", "blobs", "channels"];

/**
 * agentd's HTTP API as a Hono app: `/health` and `/metrics`, the operator's `/v1/tenants`, and the
 * tenant routes under `/v1`. Serve it with `serveApi`, or call `api.request()` in tests.
 */
/** `mounts`: channel webhooks, served outside /v1 (they check their own signatures, not API tokens). */
export function createApi(app: Agentd, mounts: { path: string; app: Hono }[] = []): Hono<ApiEnv> {
  const api = new Hono<ApiEnv>();
  const max = app.config.maxBodyBytes;
  api.use("*", bodyLimit({
    maxSize: max,
    onError: (c) => errorResponse(c, 413, "too_large", `the body is over ${max} bytes, the most this server accepts (AGENTD_MAX_BODY_BYTES)`),
  }));
  const throttle = new AuthThrottle();
  api.route("/", healthRoutes(app, throttle));
  for (const m of mounts) api.route(m.path, m.app);
  // The API reference needs no token: it holds no data, and a client reads it before it has one.
  const reference = JSON.stringify(openApiDocument());
  api.get("/v1/openapi.json", (c) => c.body(reference, 200, { "content-type": "application/json; charset=utf-8" }));
  api.use("/v1/*", authenticate(app, throttle));
  for (const path of ["/v1/tenants", "/v1/tenants/*"]) api.use(path, requireAdmin());
  for (const prefix of TENANT_PREFIXES) for (const path of [`/v1/${prefix}`, `/v1/${prefix}/*`]) api.use(path, actAsTenant(app));
  for (const routes of [tenantRoutes, messageRoutes, runRoutes, scheduleRoutes, approvalRoutes, memoryRoutes, secretRoutes, policyRoutes, usageRoutes, blobRoutes, botRoutes])
    api.route("/v1", routes(app));
  api.notFound(onNotFound);
  api.onError((e, c) => onApiError(e, c, app.log));
  return api;
}
