import { Hono, type MiddlewareHandler, type Schema } from "hono";
import type { Agentd } from "../app.ts";
import { actAsTenant, requireAdmin } from "./auth.ts";
import type { ApiEnv, TenantEnv } from "./env.ts";
import { adminRunRoutes } from "./routes/admin-runs.ts";
import { approvalRoutes } from "./routes/approvals.ts";
import { blobRoutes } from "./routes/blobs.ts";
import { connectionRoutes } from "./routes/connections.ts";
import { composioRoutes } from "./routes/composio.ts";
import { botRoutes } from "./routes/bots.ts";
import { mcpServerRoutes } from "./routes/mcp-servers.ts";
import { memoryRoutes } from "./routes/memory.ts";
import { modelRoutes } from "./routes/model.ts";
import { messageRoutes } from "./routes/messages.ts";
import { sessionEventRoutes } from "../push/session-events.ts";
import { webhookRoutes } from "../webhooks/routes.ts";
import { policyRoutes } from "./routes/policies.ts";
import { runRoutes } from "./routes/runs.ts";
import { scheduleRoutes } from "./routes/schedules.ts";
import { secretRoutes } from "./routes/secrets.ts";
import { sshHostRoutes } from "./routes/ssh-hosts.ts";
import { tenantRoutes } from "./routes/tenants.ts";
import { toolStateRoutes } from "./routes/tool-state.ts";
import { usageRoutes } from "./routes/usage.ts";
import { workerRoutes } from "./routes/workers.ts";

/** A channel's webhook app and the path it is served at (outside /v1). */
export interface Mount {
  path: string;
  app: Hono;
}

/**
 * The routes of `parts`, each behind `guard`. Hono copies a sub-app's `use("*")` onto every path
 * under its mount point, so a guard on "*" of an app mounted at /v1 would stand in front of the
 * other sub-apps' routes too: the guard is put on the paths these routes serve, read from the
 * routes themselves, and nowhere else.
 */
function guarded<E extends ApiEnv, A extends Hono<E, Schema, "/">>(guard: MiddlewareHandler<E>, routes: A): A {
  const app = new Hono<E>();
  for (const path of new Set(routes.routes.filter((r) => r.method !== "ALL").map((r) => r.path))) app.use(path, guard);
  // The same routes, behind the guard: the type of `routes` is the truth about what it serves.
  return app.route("/", routes) as unknown as A;
}

/** The operator's routes (admin token only), to mount at /v1. */
export function adminApp(app: Agentd) {
  const routes = tenantRoutes(app)
    .route("/", workerRoutes(app))
    .route("/", adminRunRoutes(app))
    .route("/", modelRoutes(app));
  return guarded(requireAdmin(), routes);
}

/**
 * The tenant's routes, to mount at /v1: each acts for the tenant of the API key, or the one the
 * admin names in X-Agentd-Tenant. A route file chained here has its tenant resolved, nothing else to
 * list; the chain is what gives the typed client (`hc`) its routes. `extra`: routes of the embedding
 * program, scoped the same way (served, but not in the client's type).
 */
export function tenantApp(app: Agentd, extra: Hono<TenantEnv>[] = []) {
  const routes = new Hono<TenantEnv>()
    .route("/", messageRoutes(app))
    .route("/", sessionEventRoutes(app))
    .route("/", webhookRoutes(app))
    .route("/", runRoutes(app))
    .route("/", scheduleRoutes(app))
    .route("/", approvalRoutes(app))
    .route("/", memoryRoutes(app))
    .route("/", secretRoutes(app))
    .route("/", policyRoutes(app))
    .route("/", usageRoutes(app))
    .route("/", blobRoutes(app))
    .route("/", botRoutes(app))
    .route("/", mcpServerRoutes(app))
    .route("/", connectionRoutes(app))
    .route("/", composioRoutes(app))
    .route("/", sshHostRoutes(app))
    .route("/", toolStateRoutes(app));
  for (const more of extra) routes.route("/", more);
  return guarded(actAsTenant(app), routes);
}

/** The channels' webhooks, to mount at the root: they check their providers' signatures, not API tokens. */
export function webhookApp(mounts: Mount[]): Hono {
  const hooks = new Hono();
  for (const m of mounts) hooks.route(m.path, m.app);
  return hooks;
}
