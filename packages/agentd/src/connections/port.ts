import type { TenantScope } from "../tenancy/scope.ts";
import type { Connection } from "./store.ts";

/** Before a call that uses a connection: it works, a person must authorize it (first time, or again), or it cannot be used. */
export type Prepared =
  | { kind: "ready" }
  | { kind: "connect"; app: string; reason: "missing" | "needs_reconnect" }
  | { kind: "error"; message: string };

/**
 * What tools and the tool-call chain use of a tenant's connections (connections/service.ts). Tokens
 * leave only through `bearer`, into an outgoing request's header.
 */
export interface ConnectionsPort {
  /** Checks a connection before a call, refreshing its token if it expires soon (under the connection's lock). */
  prepare(scope: TenantScope, name: string): Promise<Prepared>;
  /**
   * Records the authorization `id` (idempotent: the same link again) and returns the link to send,
   * and `wait`, the authorization whose event the run waits for when it is not `id` (an MCP server's,
   * recorded when its transport asked).
   */
  begin(
    scope: TenantScope,
    p: { id: string; connection: string; app: string; runId: string | null; sessionId: string | null },
  ): Promise<{ url: string; wait?: string }>;
  /** A valid access token and the hosts it may be sent to. */
  bearer(scope: TenantScope, name: string): Promise<{ token: string; hosts: string[] }>;
  list(scope: TenantScope): Promise<Connection[]>;
  test(scope: TenantScope, name: string): Promise<{ ok: boolean; detail: string }>;
  remove(scope: TenantScope, name: string): Promise<{ revoked: boolean }>;
}
