import type * as oidc from "openid-client";
import { oidcLib } from "./oidc.ts";
import type { Db } from "../db/index.ts";
import { AgentdError, badRequest, conflict } from "../errors.ts";
import { guardedFetch } from "../net/guard.ts";
import type { NetPolicy } from "../net/policy.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Vault } from "../vault/vault.ts";
import { apiHostsOf, appView, NAME, type OAuthApp, OAuthAppSchema } from "./apps.ts";
import { type AuthorizeDeps, beginAuthorization, type CallbackResult, completeAuthorization } from "./authorize.ts";
import type { OAuthClientProvider } from "@modelcontextprotocol/client";
import { guardedCustomFetch, OAuthClients } from "./client.ts";
import type { FetchFn } from "../net/stream-fetch.ts";
import { McpAuth, type McpAuthServer } from "./mcp-auth.ts";
import type { ConnectionsPort, Prepared } from "./port.ts";
import { type Connection, connectionRows, pendingRows, tokenNames } from "./store.ts";
import { describe, notFound, Tokens } from "./tokens.ts";

export interface ConnectionsOptions {
  db: Db;
  vault: Vault;
  net: NetPolicy;
  now: () => number;
  scope(tenantId: string): TenantScope;
  /** The operator's apps (AGENTD_OAUTH_APPS), offered to every tenant. */
  apps: readonly OAuthApp[];
  /** AGENTD_PUBLIC_URL: the callback is <it>/oauth/callback. */
  publicUrl: string | undefined;
  events: AuthorizeDeps["events"];
  /** How long a connect link stays valid (the run waits as long). */
  linkTtlMs: number;
  /** A tenant's HTTP MCP server by name (`mcp:<name>` connections), when there is one. */
  mcpServer?(scope: TenantScope, name: string): Promise<McpAuthServer | null>;
}

const appSecretName = (name: string) => `sys.oauthapp.${name}`;
const TEST_TIMEOUT_MS = 10_000;

/**
 * A tenant's OAuth connections: the apps it may connect (the operator's and its own), the
 * authorization a person completes through a link (authorize.ts), the tokens in the vault and
 * their refresh under a lock (tokens.ts), tests and removal.
 */
export class Connections implements ConnectionsPort {
  readonly #o: ConnectionsOptions;
  readonly #clients: OAuthClients;
  readonly #tokens: Tokens;
  readonly #authorize: AuthorizeDeps;
  /** MCP servers' OAuth (the MCP SDK's flow, this service's callback and vault). */
  readonly mcp: McpAuth;

  constructor(o: ConnectionsOptions) {
    this.#o = o;
    this.#clients = new OAuthClients(o.net);
    const appOf = (scope: TenantScope, name: string) => this.#configured(scope, name);
    this.#tokens = new Tokens({
      vault: o.vault,
      now: o.now,
      appOf: async (scope, connection) => {
        const row = await connectionRows.get(scope, connection);
        if (!row) throw notFound(connection);
        return appOf(scope, row.app);
      },
    });
    this.mcp = new McpAuth({
      vault: o.vault,
      now: o.now,
      redirectUri: () => this.redirectUri(),
      linkTtlMs: o.linkTtlMs,
      server: async (scope, name) => (await o.mcpServer?.(scope, name)) ?? null,
    });
    this.#authorize = {
      db: o.db,
      vault: o.vault,
      now: o.now,
      scope: o.scope,
      appOf,
      redirectUri: () => this.redirectUri(),
      events: o.events,
      completeMcp: (scope, p, url) => {
        const fetch = guardedCustomFetch(o.net);
        return this.mcp.complete(scope, p, url, (u, init) =>
          fetch(String(u), { method: "GET", ...init } as Parameters<typeof fetch>[1]),
        );
      },
    };
  }

  /**
   * The hook of MCP's HTTP transport (mcp/connect.ts): this tenant's provider for the server, when a
   * public URL is set, and the transport's fetch with token refreshes under the server's lease.
   */
  mcpProvider(
    tenant: TenantScope,
    server: McpAuthServer,
    fetch?: FetchFn,
  ): { provider: OAuthClientProvider; wrapFetch(fetch: FetchFn): FetchFn } | undefined {
    if (!this.#o.publicUrl) return undefined;
    return {
      provider: this.mcp.provider(tenant, server, fetch),
      wrapFetch: (fetch) => this.mcp.refreshing(tenant, server, fetch),
    };
  }

  redirectUri(): string {
    if (!this.#o.publicUrl)
      throw new AgentdError(
        "not_configured",
        "connecting apps needs AGENTD_PUBLIC_URL (the provider sends the person back to <it>/oauth/callback): ask the operator to set it",
      );
    return `${this.#o.publicUrl}/oauth/callback`;
  }

  // ── apps ──────────────────────────────────────────────────────────────────────────────────────

  async apps(scope: TenantScope): Promise<ReturnType<typeof appView>[]> {
    const own = await this.#tenantApps(scope);
    return [...this.#o.apps.map((a) => appView(a, "operator")), ...own.map((a) => appView(a, "tenant"))];
  }

  /** A tenant's own app (its client secret sealed in its vault); an operator's app's name is taken. */
  async putApp(scope: TenantScope, input: unknown): Promise<ReturnType<typeof appView>> {
    const parsed = OAuthAppSchema.safeParse(input);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw badRequest(`the app is not valid: ${i?.path.join(".") || "it"}: ${i?.message}`);
    }
    const app = parsed.data;
    if (this.#o.apps.some((a) => a.name === app.name))
      throw conflict(`${app.name} is an app the operator provides; give yours another name`);
    await this.#o.vault.put(scope, appSecretName(app.name), JSON.stringify(app));
    return appView(app, "tenant");
  }

  async deleteApp(scope: TenantScope, name: string): Promise<void> {
    if (!NAME.test(name) || (await this.#o.vault.get(scope, appSecretName(name))) === null)
      throw new AgentdError("not_found", `this tenant has no app of its own named ${name.slice(0, 40)}`);
    await this.#o.vault.delete(scope, appSecretName(name));
  }

  async #tenantApps(scope: TenantScope): Promise<OAuthApp[]> {
    const names = (await this.#o.vault.list(scope)).map((s) => s.name).filter((n) => n.startsWith("sys.oauthapp."));
    const out: OAuthApp[] = [];
    for (const n of names) {
      const raw = await this.#o.vault.get(scope, n);
      if (raw) out.push(OAuthAppSchema.parse(JSON.parse(raw)));
    }
    return out;
  }

  async #app(scope: TenantScope, name: string): Promise<{ app: OAuthApp; owner: string } | null> {
    const op = this.#o.apps.find((a) => a.name === name);
    if (op) return { app: op, owner: "" };
    if (!NAME.test(name)) return null;
    const raw = await this.#o.vault.get(scope, appSecretName(name));
    return raw ? { app: OAuthAppSchema.parse(JSON.parse(raw)), owner: scope.tenantId } : null;
  }

  async #configured(scope: TenantScope, name: string): Promise<{ app: OAuthApp; config: oidc.Configuration }> {
    const found = await this.#app(scope, name);
    if (!found)
      throw new AgentdError(
        "not_found",
        `there is no app named ${name.slice(0, 40)} to connect; list the apps with agentd connections apps`,
      );
    try {
      return { app: found.app, config: await this.#clients.configuration(found.owner, found.app) };
    } catch (e) {
      throw new AgentdError("oauth_failed", `app ${name}: its authorization server could not be read (${describe(e)})`);
    }
  }

  // ── connections ───────────────────────────────────────────────────────────────────────────────

  list(scope: TenantScope): Promise<Connection[]> {
    return connectionRows.list(scope);
  }

  async prepare(scope: TenantScope, name: string): Promise<Prepared> {
    if (name.startsWith("mcp:")) {
      const server = await this.#o.mcpServer?.(scope, name.slice(4));
      if (!server) return { kind: "error", message: `there is no HTTP MCP server named ${name.slice(4, 68)}` };
      // A link waits when the server's transport asked for an authorization; none: nothing to ask.
      return (await this.mcp.link(scope, server))
        ? { kind: "connect", app: name, reason: "missing" }
        : { kind: "ready" };
    }
    const row = await connectionRows.get(scope, name);
    if (row?.status === "active") {
      try {
        await this.#tokens.access(scope, name, 5 * 60_000);
        return { kind: "ready" };
      } catch (e) {
        if (!AgentdError.is(e, "needs_reconnect")) return { kind: "error", message: describe(e) };
      }
      return { kind: "connect", app: row.app, reason: "needs_reconnect" };
    }
    if (row) return { kind: "connect", app: row.app, reason: "needs_reconnect" };
    const app = await this.#app(scope, name);
    if (!app)
      return {
        kind: "error",
        message: `there is no connection or app named ${name}; the apps this tenant can connect: ${(await this.apps(scope)).map((a) => a.name).join(", ") || "none (the operator configures them)"}`,
      };
    return { kind: "connect", app: name, reason: "missing" };
  }

  async begin(
    scope: TenantScope,
    p: { id: string; connection: string; app: string; runId: string | null; sessionId: string | null },
  ): Promise<{ url: string; wait?: string }> {
    if (!p.connection.startsWith("mcp:"))
      return beginAuthorization(this.#authorize, scope, { ...p, ttlMs: this.#o.linkTtlMs });
    const server = await this.#o.mcpServer?.(scope, p.connection.slice(4));
    const link = server ? await this.mcp.link(scope, server) : null;
    if (!server || !link)
      throw new AgentdError("conflict", `no authorization of ${p.connection} waits for the person now`);
    // The authorization the transport recorded is bound to this run: the callback wakes it.
    const pending = await pendingRows.byState(this.#o.db, new URL(link).searchParams.get("state") ?? "");
    if (!pending || pending.tenantId !== scope.tenantId)
      throw new AgentdError("conflict", `the authorization of ${p.connection} is gone: use the server again`);
    await scope.run("UPDATE os_oauth_pending SET run_id = ?, session_id = ? WHERE tenant_id = $tenant AND id = ?", [
      p.runId,
      p.sessionId,
      pending.id,
    ]);
    return { url: link, wait: pending.id };
  }

  complete(url: URL): Promise<CallbackResult> {
    return completeAuthorization(this.#authorize, url);
  }

  async bearer(scope: TenantScope, name: string): Promise<{ token: string; hosts: string[] }> {
    const row = await connectionRows.get(scope, name);
    if (!row) throw notFound(name);
    const token = await this.#tokens.access(scope, name);
    const { app } = await this.#configured(scope, row.app);
    return { token, hosts: apiHostsOf(app) };
  }

  /** Gets a valid token (refreshing it if due) and, when the app has a test URL or userinfo, calls it. */
  async test(scope: TenantScope, name: string): Promise<{ ok: boolean; detail: string }> {
    const row = await connectionRows.get(scope, name);
    if (!row) throw notFound(name);
    let token: string;
    try {
      token = await this.#tokens.access(scope, name);
    } catch (e) {
      return { ok: false, detail: describe(e) };
    }
    const { app, config } = await this.#configured(scope, row.app);
    const url = app.testUrl ?? config.serverMetadata().userinfo_endpoint;
    if (!url) return { ok: true, detail: "the token is valid (the app has no test URL to call)" };
    try {
      const res = await guardedFetch(
        url,
        { headers: { authorization: `Bearer ${token}`, accept: "application/json" } },
        this.#o.net,
        {
          maxBytes: 64 * 1024,
          timeoutMs: TEST_TIMEOUT_MS,
        },
      );
      const ok = res.status >= 200 && res.status < 300;
      return { ok, detail: `${new URL(url).host} answered ${res.status}` };
    } catch (e) {
      return { ok: false, detail: describe(e) };
    }
  }

  /** Revokes the tokens at the provider when it can (best effort), then forgets them and the connection. */
  async remove(scope: TenantScope, name: string): Promise<{ revoked: boolean }> {
    const row = await connectionRows.get(scope, name);
    if (!row) throw notFound(name);
    const names = tokenNames(name);
    let revoked = false;
    try {
      const { config } = await this.#configured(scope, row.app);
      if (config.serverMetadata().revocation_endpoint) {
        const refresh = await this.#o.vault.get(scope, names.refresh);
        const access = await this.#o.vault.get(scope, names.access);
        const lib = await oidcLib();
        if (refresh) await lib.tokenRevocation(config, refresh, { token_type_hint: "refresh_token" });
        if (access) await lib.tokenRevocation(config, access, { token_type_hint: "access_token" });
        revoked = true;
      }
    } catch {
      // The provider is away or refuses: the tokens are forgotten here all the same.
    }
    await scope.tx(async (tx) => {
      await tx.run("DELETE FROM os_secrets WHERE tenant_id = $tenant AND name IN (?, ?)", [
        names.access,
        names.refresh,
      ]);
      await connectionRows.delete(tx, name);
    });
    return { revoked };
  }
}
