import { randomBytes } from "node:crypto";
import { RunFinishedError } from "@agentd/kernel";
import { type ConnectEvent, connectEventName } from "../connections/authorize.ts";
import type { Prepared } from "../connections/port.ts";
import { pendingRows } from "../connections/store.ts";
import type { Db } from "../db/index.ts";
import { AgentdError, badRequest } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Vault } from "../vault/vault.ts";
import type { ComposioAccess, TenantComposio } from "./access.ts";
import { callOptions, composioFailed } from "./client.ts";
import { TOOLKIT } from "./config.ts";

/** A tenant's account at Composio as agentd shows it: never its credentials (Composio sends them to the key's owner). */
export interface ComposioAccount {
  id: string;
  toolkit: string;
  status: string;
  createdAt: string;
}

/** The connection name the chain's connect stage sees for a toolkit. */
export const CONNECTION_PREFIX = "composio:";
const linkSecret = (pendingId: string) => `sys.composio.link.${pendingId}`;
const RECONNECT = new Set(["EXPIRED", "FAILED", "INACTIVE", "REVOKED"]);

export interface AccountsOptions {
  access: ComposioAccess;
  db: Db;
  vault: Vault;
  now: () => number;
  scope(tenantId: string): TenantScope;
  /** AGENTD_PUBLIC_URL: Composio sends the person back to <it>/composio/callback. */
  publicUrl: string | undefined;
  linkTtlMs: number;
  events: {
    sendEvent(runId: string, name: string, payload: ConnectEvent, options: { eventId: string }): Promise<unknown>;
  };
}

/** What the callback page tells the person. */
export interface ComposioCallback {
  ok: boolean;
  message: string;
}

/**
 * A tenant's Composio accounts: listed and removed (only its own user's), and connected through a
 * Composio Connect Link (`connectedAccounts.link`). The link is recorded like an OAuth authorization
 * (a pending row found by its state's hash, the link sealed in the vault), so the chain's connect
 * stage sends it and waits durably for the event the callback sends once Composio says ACTIVE.
 */
export class ComposioAccounts {
  readonly #o: AccountsOptions;
  /** Auth config per (key, toolkit): found or made once per process. */
  readonly #configs = new Map<string, Promise<string>>();

  constructor(o: AccountsOptions) {
    this.#o = o;
  }

  async list(scope: TenantScope, toolkit?: string): Promise<ComposioAccount[]> {
    const c = await this.#o.access.for(scope);
    try {
      const res = await c.sdk.connectedAccounts.list(
        { userIds: [c.userId], ...(toolkit ? { toolkitSlugs: [toolkit] } : {}), limit: 100 },
        callOptions(),
      );
      return res.items.map((a) => ({ id: a.id, toolkit: a.toolkit.slug, status: a.status, createdAt: a.createdAt }));
    } catch (e) {
      throw composioFailed(e, c.key);
    }
  }

  /** Deletes one of the tenant's accounts at Composio (which revokes its tokens); another user's is not found. */
  async remove(scope: TenantScope, id: string): Promise<{ removed: ComposioAccount }> {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(id)) throw badRequest("a Composio account id is letters, digits, _ and -");
    const mine = (await this.list(scope)).find((a) => a.id === id);
    if (!mine)
      throw new AgentdError(
        "not_found",
        `this tenant has no Composio account ${id}; list them with agentd composio list`,
      );
    const c = await this.#o.access.for(scope);
    try {
      await c.sdk.connectedAccounts.delete(id, callOptions());
    } catch (e) {
      throw composioFailed(e, c.key);
    }
    return { removed: mine };
  }

  /** Before a call through a toolkit: an ACTIVE account, or a person must connect (first time, or again). */
  async prepare(scope: TenantScope, toolkit: string): Promise<Prepared> {
    if (!TOOLKIT.test(toolkit))
      return { kind: "error", message: `"${toolkit.slice(0, 64)}" is not a Composio toolkit slug` };
    let accounts: ComposioAccount[];
    try {
      accounts = await this.list(scope, toolkit);
    } catch (e) {
      return { kind: "error", message: e instanceof Error ? e.message : String(e) };
    }
    if (accounts.some((a) => a.status === "ACTIVE")) return { kind: "ready" };
    const again = accounts.some((a) => RECONNECT.has(a.status));
    return { kind: "connect", app: toolkit, reason: again ? "needs_reconnect" : "missing" };
  }

  /**
   * The link for authorization `id` (idempotent: a step replayed after a crash gets the link the
   * first attempt stored, so the person is never sent two).
   */
  async begin(
    scope: TenantScope,
    p: { id: string; toolkit: string; runId: string | null; sessionId: string | null },
  ): Promise<{ url: string }> {
    const stored = await this.#o.vault.get(scope, linkSecret(p.id));
    if (stored) return { url: stored };
    if (!TOOLKIT.test(p.toolkit)) throw badRequest(`"${p.toolkit.slice(0, 64)}" is not a Composio toolkit slug`);
    const c = await this.#o.access.for(scope);
    if (!this.#o.publicUrl)
      throw new AgentdError(
        "not_configured",
        "connecting a Composio toolkit needs AGENTD_PUBLIC_URL (Composio sends the person back to <it>/composio/callback): ask the operator to set it",
      );
    const state = randomBytes(24).toString("base64url");
    let url: string;
    try {
      const authConfig = await this.#authConfig(c, p.toolkit);
      const req = await c.sdk.connectedAccounts.link(
        c.userId,
        authConfig,
        { callbackUrl: `${this.#o.publicUrl}/composio/callback?state=${state}`, allowMultiple: true },
        callOptions(),
      );
      if (!req.redirectUrl) throw new AgentdError("bad_response", "Composio gave no link for the person to open");
      url = req.redirectUrl;
    } catch (e) {
      throw composioFailed(e, c.key);
    }
    const now = this.#o.now();
    const connection = `${CONNECTION_PREFIX}${p.toolkit}`;
    await this.#o.vault.putMany(scope, { [linkSecret(p.id)]: url }, (tx) =>
      pendingRows.create(tx, { ...p, state, connection, app: connection }, now, now + this.#o.linkTtlMs),
    );
    return { url: (await this.#o.vault.get(scope, linkSecret(p.id))) ?? url };
  }

  /**
   * Where Composio sends the person back. The state names the authorization (and so the tenant);
   * the account is believed ACTIVE only when Composio says so to agentd, never because the query
   * says so. The run is woken with the authorization's id as the event's (a second page changes nothing).
   */
  async complete(url: URL): Promise<ComposioCallback> {
    const state = url.searchParams.get("state");
    if (!state || state.length > 200)
      throw badRequest("this link has no state: open the connect link you were sent again");
    const p = await pendingRows.byState(this.#o.db, state);
    if (!p?.app.startsWith(CONNECTION_PREFIX))
      throw new AgentdError("not_found", "this connect link is unknown or was removed: ask for a new one in the chat");
    const toolkit = p.app.slice(CONNECTION_PREFIX.length);
    const scope = this.#o.scope(p.tenantId);
    const wake = async (ev: ConnectEvent) => {
      if (!p.runId) return;
      await this.#o.events.sendEvent(p.runId, connectEventName(p.id), ev, { eventId: p.id }).catch((e: unknown) => {
        if (!RunFinishedError.is(e)) throw e;
      });
    };
    const done = {
      ok: true,
      message: `${toolkit} is connected through Composio. You can close this page and go back to the chat.`,
    };
    if (p.status === "done") {
      await wake({ ok: true });
      return done;
    }
    if (p.status === "failed" || p.expiresAt <= this.#o.now())
      throw new AgentdError(
        "conflict",
        "this connect link has expired or was already used: ask for a new one in the chat",
      );
    const accounts = await this.list(scope, toolkit);
    if (accounts.some((a) => a.status === "ACTIVE")) {
      await scope.tx(async (tx) => {
        await pendingRows.mark(tx, p.id, "done");
        await tx.run("DELETE FROM os_secrets WHERE tenant_id = $tenant AND name = ?", [linkSecret(p.id)]);
      });
      await wake({ ok: true });
      return done;
    }
    if (url.searchParams.get("status") === "failed") {
      await scope.tx((tx) => pendingRows.mark(tx, p.id, "failed"));
      await wake({ ok: false, error: "Composio reported that the connection failed" });
      return { ok: false, message: `${toolkit} was not connected (Composio reported that the connection failed).` };
    }
    throw new AgentdError(
      "conflict",
      `Composio does not show ${toolkit} as connected yet: finish on its page, then open this link again`,
    );
  }

  /** The toolkit's auth config: the project's first enabled one, or a Composio-managed one made for it. */
  #authConfig(c: TenantComposio, toolkit: string): Promise<string> {
    const k = `${c.key}\0${toolkit}`;
    let found = this.#configs.get(k);
    if (!found) {
      found = (async () => {
        const list = await c.sdk.authConfigs.list({ toolkit }, callOptions());
        const enabled = list.items.find((a) => a.status === "ENABLED" && a.toolkit.slug === toolkit);
        if (enabled) return enabled.id;
        return (await c.sdk.authConfigs.create(toolkit, { type: "use_composio_managed_auth" }, callOptions())).id;
      })();
      found.catch(() => this.#configs.delete(k));
      this.#configs.set(k, found);
    }
    return found;
  }
}
