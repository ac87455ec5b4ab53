import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type * as oidc from "openid-client";
import { loadedOidc, oidcLib } from "./oidc.ts";
import { AgentdError } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Vault } from "../vault/vault.ts";
import type { OAuthApp } from "./apps.ts";
import { type ConnectionRow, connectionRows, tokenNames } from "./store.ts";

/** How long one refresh may hold a connection: another process takes over after it (a crash mid-refresh). */
export const LEASE_MS = 30_000;
/** How long a caller waits for another's refresh before giving up. */
const WAIT_MS = 20_000;

export interface TokenDeps {
  vault: Vault;
  now: () => number;
  /** The app a connection was made with, and openid-client's configuration of it. */
  appOf(scope: TenantScope, name: string): Promise<{ app: OAuthApp; config: oidc.Configuration }>;
}

/** What a token endpoint answered, as the vault and the row keep it. */
export interface Grant {
  access: string;
  refresh: string | null;
  expiresAt: number | null;
  scope: string | null;
}

export function grantOf(t: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, now: number): Grant {
  const expiresIn = t.expiresIn();
  return {
    access: t.access_token,
    refresh: t.refresh_token ?? null,
    expiresAt: expiresIn === undefined ? null : now + expiresIn * 1000,
    scope: t.scope ?? null,
  };
}

export function needsReconnect(name: string): AgentdError {
  return new AgentdError(
    "needs_reconnect",
    `connection ${name} needs to be authorized again (the provider refused its tokens): use it again to send the person a new connect link, or run agentd connections connect --tenant <id> ${name}`,
  );
}

export function notFound(name: string): AgentdError {
  return new AgentdError(
    "connection_not_found",
    `this tenant has no connection named ${name}; list them with agentd connections list, or use it in a tool call to send a connect link`,
  );
}

/**
 * A connection's access token, refreshed when it expires within `minValidityMs`. One refresh at a
 * time per connection across every process: a lease on its row (a compare-and-set on its version),
 * so a rotated refresh token is spent once. The new pair and the row's version change in one
 * transaction; a caller that finds the lease held waits for the version to move. Refreshes in this
 * process are shared before they reach the store.
 */
export class Tokens {
  readonly #deps: TokenDeps;
  readonly #inflight = new Map<string, Promise<string>>();

  constructor(deps: TokenDeps) {
    this.#deps = deps;
  }

  async access(scope: TenantScope, name: string, minValidityMs = 60_000): Promise<string> {
    const key = `${scope.tenantId}\u0000${name}\u0000${minValidityMs}`;
    const running = this.#inflight.get(key);
    if (running) return running;
    const p = this.#access(scope, name, minValidityMs).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #access(scope: TenantScope, name: string, minValidityMs: number): Promise<string> {
    const { vault, now } = this.#deps;
    const names = tokenNames(name);
    const deadline = Date.now() + WAIT_MS;
    for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
      const row = await connectionRows.get(scope, name);
      if (!row) throw notFound(name);
      if (row.status === "needs_reconnect") throw needsReconnect(name);
      const t = now();
      if (row.expires_at === null || Number(row.expires_at) - minValidityMs > t) {
        const access = await vault.get(scope, names.access);
        if (access !== null) return access;
      }
      const owner = randomUUID();
      const { changes } = await scope.run(
        `UPDATE os_connections SET lease_until = ?, lease_owner = ? WHERE tenant_id = $tenant AND name = ? AND version = ?
         AND status = 'active' AND (lease_until IS NULL OR lease_until <= ?)`,
        [t + LEASE_MS, owner, name, row.version, t],
      );
      if (changes > 0) return this.#refresh(scope, row, owner);
      if (Date.now() > deadline)
        throw new AgentdError(
          "oauth_failed",
          `connection ${name} is being refreshed elsewhere and did not finish in time; try again`,
        );
      await sleep(wait);
    }
  }

  async #refresh(scope: TenantScope, row: ConnectionRow, owner: string): Promise<string> {
    const { vault, now } = this.#deps;
    const names = tokenNames(row.name);
    const release = () =>
      scope.run(
        "UPDATE os_connections SET lease_until = NULL, lease_owner = NULL WHERE tenant_id = $tenant AND name = ? AND lease_owner = ?",
        [row.name, owner],
      );
    try {
      const refresh = await vault.get(scope, names.refresh);
      if (refresh === null) {
        await markNeedsReconnect(scope, row.name, owner);
        throw needsReconnect(row.name);
      }
      const { app, config } = await this.#deps.appOf(scope, row.name);
      let res: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
      try {
        res = await (await oidcLib()).refreshTokenGrant(
          config,
          refresh,
          app.resource ? { resource: app.resource } : undefined,
        );
      } catch (e) {
        if (isInvalidGrant(e)) {
          await markNeedsReconnect(scope, row.name, owner);
          throw needsReconnect(row.name);
        }
        throw new AgentdError(
          "oauth_failed",
          `refreshing connection ${row.name} failed: ${describe(e)}; try again later`,
        );
      }
      const g = grantOf(res, now());
      // A provider that rotates sends a new refresh token; one that does not keeps the old one valid.
      await vault.putMany(scope, { [names.access]: g.access, [names.refresh]: g.refresh ?? refresh }, async (tx) => {
        const { changes } = await tx.run(
          `UPDATE os_connections SET expires_at = ?, scope = COALESCE(?, scope), version = version + 1, lease_until = NULL,
           lease_owner = NULL, updated_at = ? WHERE tenant_id = $tenant AND name = ? AND lease_owner = ?`,
          [g.expiresAt, g.scope, now(), row.name, owner],
        );
        // Our lease ran out and another took over: its pair stands, ours is dropped with the transaction.
        if (changes === 0)
          throw new AgentdError("oauth_failed", `the refresh of connection ${row.name} took too long; try again`);
      });
      return g.access;
    } finally {
      await release();
    }
  }
}

async function markNeedsReconnect(scope: TenantScope, name: string, owner: string): Promise<void> {
  await scope.run(
    "UPDATE os_connections SET status = 'needs_reconnect', lease_until = NULL, lease_owner = NULL WHERE tenant_id = $tenant AND name = ? AND lease_owner = ?",
    [name, owner],
  );
}

/** The provider says the grant is gone: revoked, expired, or a rotated refresh token used twice. */
export function isInvalidGrant(e: unknown): boolean {
  const lib = loadedOidc();
  return !!lib && e instanceof lib.ResponseBodyError && e.error === "invalid_grant";
}

/** An OAuth error as one line a person can read: the provider's code and description, never a token. */
export function describe(e: unknown): string {
  const lib = loadedOidc();
  if (lib && (e instanceof lib.ResponseBodyError || e instanceof lib.AuthorizationResponseError))
    return `${e.error}${e.error_description ? `: ${e.error_description.slice(0, 200)}` : ""}`;
  if (AgentdError.is(e)) return e.message;
  // openid-client's own errors say only "invalid response encountered"; their cause says which check failed.
  const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
  return e instanceof Error ? `${e.message}${cause}`.slice(0, 300) : String(e).slice(0, 300);
}
