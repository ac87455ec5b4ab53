import type { Context } from "hono";
import type { Agentd } from "../app.ts";
import type { TenantScope } from "../tenancy/scope.ts";

/** Who is calling: the operator (admin token) or a tenant (its API key). */
export interface Caller {
  kind: "admin" | "tenant";
  /** The key's tenant; null for the admin. */
  tenantId: string | null;
}

/** What the middleware leaves on each request's context. */
export interface ApiEnv {
  Variables: {
    caller: Caller;
    /** The tenant a tenant route acts for: the key's, or the admin's X-Agentd-Tenant. */
    tenantId: string;
  };
}

export type ApiContext = Context<ApiEnv>;

/** The scope of the tenant the request acts for. */
export function scopeOf(app: Agentd, c: ApiContext): TenantScope {
  return app.tenants.scope(c.get("tenantId"));
}

/** Who decided, as recorded on approvals. */
export function actor(c: ApiContext): string {
  return c.get("caller").kind === "admin" ? "admin" : "api";
}
