import type { Context } from "hono";
import type { Agentd } from "../app.ts";
import type { TenantScope } from "../tenancy/scope.ts";

/** Who is calling: the operator (admin token) or a tenant (its API key). */
export interface Caller {
  kind: "admin" | "tenant";
  /** The key's tenant; null for the admin. */
  tenantId: string | null;
}

/** What authentication leaves on the context of every /v1 request. */
export interface ApiEnv {
  Variables: {
    caller: Caller;
  };
}

/**
 * The context of a route of the tenant sub-app (`tenant-app.ts`): the tenant it acts for is set
 * before the route runs. Only there: an admin route has no tenant, and its context says so.
 */
export interface TenantEnv {
  Variables: ApiEnv["Variables"] & {
    /** The tenant a tenant route acts for: the key's, or the admin's X-Agentd-Tenant. */
    tenantId: string;
  };
}

export type ApiContext = Context<ApiEnv>;
export type TenantContext = Context<TenantEnv>;

/** The scope of the tenant the request acts for. */
export function scopeOf(app: Agentd, c: TenantContext): TenantScope {
  return app.tenants.scope(c.get("tenantId"));
}

/** Who decided, as recorded on approvals. */
export function actor(c: TenantContext): string {
  return c.get("caller").kind === "admin" ? "admin" : "api";
}
