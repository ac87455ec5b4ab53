import { createHash } from "node:crypto";
import type { Db } from "../db/index.ts";
import type { TenantScope } from "../tenancy/scope.ts";

/** active: its tokens work (or refresh); needs_reconnect: the provider refused them (revoked, expired refresh token). */
export type ConnectionStatus = "active" | "needs_reconnect";

/** A tenant's connection to an app, as listed: never its tokens (those live in the vault). */
export interface Connection {
  name: string;
  app: string;
  /** The account at the provider (the ID token's subject), when it says. */
  account: string | null;
  status: ConnectionStatus;
  scope: string | null;
  /** When the access token expires (ms), if the provider said. */
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface ConnectionRow {
  name: string;
  app: string;
  account: string | null;
  status: ConnectionStatus;
  scope: string | null;
  expires_at: number | null;
  version: number;
  lease_until: number | null;
  lease_owner: string | null;
  created_at: number;
  updated_at: number;
}

export const toConnection = (r: ConnectionRow): Connection => ({
  name: r.name,
  app: r.app,
  account: r.account,
  status: r.status,
  scope: r.scope,
  expiresAt: r.expires_at === null ? null : Number(r.expires_at),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** An authorization a person was sent a link for; the callback finds it by its state's hash. */
export interface Pending {
  id: string;
  tenantId: string;
  connection: string;
  app: string;
  runId: string | null;
  sessionId: string | null;
  status: "pending" | "done" | "failed";
  expiresAt: number;
}

interface PendingRow {
  id: string;
  tenant_id: string;
  connection: string;
  app: string;
  run_id: string | null;
  session_id: string | null;
  status: Pending["status"];
  expires_at: number;
}

const toPending = (r: PendingRow): Pending => ({
  id: r.id,
  tenantId: r.tenant_id,
  connection: r.connection,
  app: r.app,
  runId: r.run_id,
  sessionId: r.session_id,
  status: r.status,
  expiresAt: Number(r.expires_at),
});

/** The state is never stored: a copy of the table would not let anyone complete an authorization. */
export const stateHash = (state: string) => createHash("sha256").update(state).digest("hex");

/** The vault names of a connection's tokens, and of a pending authorization's state and PKCE verifier. */
export const tokenNames = (name: string) => ({
  access: `sys.oauth.${name}.access`,
  refresh: `sys.oauth.${name}.refresh`,
});
export const verifierName = (pendingId: string) => `sys.oauthv.${pendingId}`;

export const connectionRows = {
  async get(scope: TenantScope, name: string): Promise<ConnectionRow | null> {
    return (
      (await scope.get<ConnectionRow>("SELECT * FROM os_connections WHERE tenant_id = $tenant AND name = ?", [name])) ??
      null
    );
  },

  async list(scope: TenantScope): Promise<Connection[]> {
    const rows = await scope.all<ConnectionRow>("SELECT * FROM os_connections WHERE tenant_id = $tenant ORDER BY name");
    return rows.map(toConnection);
  },

  /** A new authorization's tokens replace whatever the connection had (reconnecting resets it). */
  async upsert(
    tx: TenantScope,
    c: { name: string; app: string; account: string | null; scope: string | null; expiresAt: number | null },
    now: number,
  ): Promise<void> {
    await tx.run(
      `INSERT INTO os_connections (tenant_id, name, app, account, status, scope, expires_at, version, created_at, updated_at)
       VALUES ($tenant, ?, ?, ?, 'active', ?, ?, 1, ?, ?)
       ON CONFLICT (tenant_id, name) DO UPDATE SET app = excluded.app, account = excluded.account, status = 'active',
         scope = excluded.scope, expires_at = excluded.expires_at, version = os_connections.version + 1,
         lease_until = NULL, lease_owner = NULL, updated_at = excluded.updated_at`,
      [c.name, c.app, c.account, c.scope, c.expiresAt, now, now],
    );
  },

  async delete(scope: TenantScope, name: string): Promise<boolean> {
    const { changes } = await scope.run("DELETE FROM os_connections WHERE tenant_id = $tenant AND name = ?", [name]);
    return changes > 0;
  },
};

export const pendingRows = {
  async create(
    scope: TenantScope,
    p: { id: string; state: string; connection: string; app: string; runId: string | null; sessionId: string | null },
    now: number,
    expiresAt: number,
  ): Promise<void> {
    await scope.run(
      `INSERT INTO os_oauth_pending (id, tenant_id, state_hash, connection, app, run_id, session_id, status, created_at, expires_at)
       VALUES (?, $tenant, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (id) DO NOTHING`,
      [p.id, stateHash(p.state), p.connection, p.app, p.runId, p.sessionId, now, expiresAt],
    );
  },

  /** Read before any tenant is known: the state in the callback is what names the tenant. */
  async byState(db: Db, state: string): Promise<Pending | null> {
    const r = await db.get<PendingRow>("SELECT * FROM os_oauth_pending WHERE state_hash = ?", [stateHash(state)]);
    return r ? toPending(r) : null;
  },

  async get(scope: TenantScope, id: string): Promise<Pending | null> {
    const r = await scope.get<PendingRow>("SELECT * FROM os_oauth_pending WHERE tenant_id = $tenant AND id = ?", [id]);
    return r ? toPending(r) : null;
  },

  async mark(tx: TenantScope, id: string, status: Pending["status"]): Promise<void> {
    await tx.run("UPDATE os_oauth_pending SET status = ? WHERE tenant_id = $tenant AND id = ?", [status, id]);
  },
};
