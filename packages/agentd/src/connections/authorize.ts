import { RunFinishedError } from "@agentd/kernel";
import type * as oidc from "openid-client";
import { oidcLib } from "./oidc.ts";
import type { Db } from "../db/index.ts";
import { AgentdError, badRequest } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Vault } from "../vault/vault.ts";
import type { OAuthApp } from "./apps.ts";
import { connectionRows, type Pending, pendingRows, tokenNames, verifierName } from "./store.ts";
import { describe, grantOf } from "./tokens.ts";

/** What the waiting run receives when the person has been through the provider. */
export interface ConnectEvent {
  ok: boolean;
  /** Why not, as the provider said (access_denied, …). */
  error?: string;
}

export const connectEventName = (pendingId: string) => `oauth:${pendingId}`;

export interface AuthorizeDeps {
  db: Db;
  vault: Vault;
  now: () => number;
  scope(tenantId: string): TenantScope;
  appOf(scope: TenantScope, app: string): Promise<{ app: OAuthApp; config: oidc.Configuration }>;
  /** Where the provider sends the person back: <AGENTD_PUBLIC_URL>/oauth/callback. */
  redirectUri(): string;
  events: {
    sendEvent(runId: string, name: string, payload: ConnectEvent, options: { eventId: string }): Promise<unknown>;
  };
  /** An MCP server's authorization (its app is `mcp:…`): the MCP SDK exchanges the code (mcp-auth.ts). */
  completeMcp(scope: TenantScope, p: Pending, url: URL): Promise<void>;
}

interface Sealed {
  state: string;
  verifier: string;
}

/**
 * Starts (or finds again) the authorization `id`: a random state and PKCE verifier sealed in the
 * vault with the pending row in one transaction, so a step replayed after a crash builds the same
 * link from what the first attempt stored, and the person is never sent two different ones.
 */
export async function beginAuthorization(
  d: AuthorizeDeps,
  scope: TenantScope,
  p: { id: string; connection: string; app: string; runId: string | null; sessionId: string | null; ttlMs: number },
): Promise<{ url: string }> {
  const { app, config } = await d.appOf(scope, p.app);
  const lib = await oidcLib();
  let sealed = await readSealed(d.vault, scope, p.id);
  if (!sealed) {
    const fresh: Sealed = { state: lib.randomState(), verifier: lib.randomPKCECodeVerifier() };
    const now = d.now();
    await d.vault.putMany(scope, { [verifierName(p.id)]: JSON.stringify(fresh) }, (tx) =>
      pendingRows.create(tx, { ...p, state: fresh.state }, now, now + p.ttlMs),
    );
    sealed = (await readSealed(d.vault, scope, p.id)) as Sealed;
  }
  const params: Record<string, string> = {
    redirect_uri: d.redirectUri(),
    state: sealed.state,
    code_challenge: await lib.calculatePKCECodeChallenge(sealed.verifier),
    code_challenge_method: "S256",
  };
  if (app.scopes.length) params.scope = app.scopes.join(" ");
  if (app.resource) params.resource = app.resource;
  return { url: lib.buildAuthorizationUrl(config, params).href };
}

async function readSealed(vault: Vault, scope: TenantScope, id: string): Promise<Sealed | null> {
  const raw = await vault.get(scope, verifierName(id));
  return raw === null ? null : (JSON.parse(raw) as Sealed);
}

/** What the callback page tells the person. */
export interface CallbackResult {
  ok: boolean;
  connection: string;
  message: string;
}

/**
 * The provider's redirect: the state names the authorization (and so the tenant); openid-client
 * checks it, the issuer (`iss`, when the provider sends it) and PKCE while exchanging the code. The
 * tokens and the connection's row are written in one transaction, then the waiting run is woken
 * (the event id is the authorization's: a second delivery changes nothing). A page opened twice
 * finds the authorization done and wakes the run again, in case the first wake was lost to a crash.
 */
export async function completeAuthorization(d: AuthorizeDeps, url: URL): Promise<CallbackResult> {
  const state = url.searchParams.get("state");
  if (!state || state.length > 500)
    throw badRequest("this link has no state: open the connect link you were sent again");
  const p = await pendingRows.byState(d.db, state);
  if (!p)
    throw new AgentdError("not_found", "this connect link is unknown or was removed: ask for a new one in the chat");
  const scope = d.scope(p.tenantId);
  const wake = async (ev: ConnectEvent) => {
    if (!p.runId) return;
    await d.events.sendEvent(p.runId, connectEventName(p.id), ev, { eventId: p.id }).catch((e: unknown) => {
      if (!RunFinishedError.is(e)) throw e;
    });
  };
  if (p.status === "done") {
    await wake({ ok: true });
    return { ok: true, connection: p.connection, message: `${p.connection} is connected. You can close this page.` };
  }
  if (p.status === "failed" || p.expiresAt <= d.now())
    throw new AgentdError(
      "conflict",
      "this connect link has expired or was already used: ask for a new one in the chat",
    );
  if (p.app.startsWith("mcp:")) {
    try {
      await d.completeMcp(scope, p, url);
    } catch (e) {
      const error = describe(e);
      await scope.tx((tx) => pendingRows.mark(tx, p.id, "failed"));
      await wake({ ok: false, error });
      return { ok: false, connection: p.connection, message: `${p.connection} was not connected (${error}).` };
    }
    await wake({ ok: true });
    return {
      ok: true,
      connection: p.connection,
      message: `${p.connection} is connected. You can close this page and go back to the chat.`,
    };
  }
  const sealed = await readSealed(d.vault, scope, p.id);
  if (!sealed) throw new AgentdError("conflict", "this connect link was already used: ask for a new one in the chat");
  const { app, config } = await d.appOf(scope, p.app);
  const current = new URL(d.redirectUri());
  current.search = url.search;
  let res: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
  try {
    res = await (await oidcLib()).authorizationCodeGrant(
      config,
      current,
      { pkceCodeVerifier: sealed.verifier, expectedState: sealed.state },
      app.resource ? { resource: app.resource } : undefined,
    );
  } catch (e) {
    // The person refused, or the provider did: the run hears it and says so; the link is spent.
    const error = describe(e);
    // A page opened twice at once: the other exchange won, and this one's code was spent by it.
    if ((await pendingRows.get(scope, p.id))?.status === "done")
      return { ok: true, connection: p.connection, message: `${p.connection} is connected. You can close this page.` };
    await scope.tx((tx) => pendingRows.mark(tx, p.id, "failed"));
    await d.vault.delete(scope, verifierName(p.id)).catch(() => {});
    await wake({ ok: false, error });
    return { ok: false, connection: p.connection, message: `${p.connection} was not connected (${error}).` };
  }
  const g = grantOf(res, d.now());
  const account = res.claims()?.sub ?? null;
  const names = tokenNames(p.connection);
  const entries: Record<string, string> = { [names.access]: g.access };
  if (g.refresh) entries[names.refresh] = g.refresh;
  await d.vault.putMany(scope, entries, async (tx) => {
    if (!g.refresh) await tx.run("DELETE FROM os_secrets WHERE tenant_id = $tenant AND name = ?", [names.refresh]);
    await connectionRows.upsert(
      tx,
      {
        name: p.connection,
        app: p.app,
        account,
        scope: g.scope ?? (app.scopes.join(" ") || null),
        expiresAt: g.expiresAt,
      },
      d.now(),
    );
    await pendingRows.mark(tx, p.id, "done");
    await tx.run("DELETE FROM os_secrets WHERE tenant_id = $tenant AND name = ?", [verifierName(p.id)]);
  });
  await wake({ ok: true });
  return {
    ok: true,
    connection: p.connection,
    message: `${p.connection} is connected. You can close this page and go back to the chat.`,
  };
}
