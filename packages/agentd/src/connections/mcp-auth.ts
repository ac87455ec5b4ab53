import { createHash, randomBytes } from "node:crypto";
import type {
  FetchLike,
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from "@modelcontextprotocol/client";
import { AgentdError } from "../errors.ts";
import type { PreRegisteredClient } from "../mcp/definition.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Vault } from "../vault/vault.ts";
import { withLease } from "./lease.ts";
import { type Pending, pendingRows } from "./store.ts";

/** What agentd keeps of one MCP server's authorization, sealed in the tenant's vault as one value. */
interface Kept {
  server: string;
  url: string;
  client?: StoredOAuthClientInformation;
  tokens?: StoredOAuthTokens;
  /** When the tokens were saved (ms): what is left of `expires_in` when another process reads them. */
  savedAt?: number;
  verifier?: string;
  /** The authorization server the tokens are from (the issuer they are keyed by). */
  issuer?: string;
  resource?: string;
  discovery?: OAuthDiscoveryState;
  /** The link to send the person, while an authorization waits for them. */
  link?: string;
}

export interface McpAuthDeps {
  vault: Vault;
  now: () => number;
  redirectUri(): string;
  linkTtlMs: number;
  /** The tenant's HTTP server by name now (its pre-registered client, for the callback's code exchange). */
  server?(tenant: TenantScope, name: string): Promise<McpAuthServer | null>;
}

/** What the provider needs of an MCP server: where it is, and the client registered beforehand, if any. */
export interface McpAuthServer {
  name: string;
  url: string;
  oauth?: PreRegisteredClient | undefined;
}

/** A fetch as the MCP SDK's transports and `auth()` take it. */
type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** The vault name of a server's authorization: by its name and URL (a server moved elsewhere starts afresh). */
export const mcpKeptName = (server: string, url: string) =>
  `sys.mcpoauth.${createHash("sha256").update(`${server}\u0000${url}`).digest("hex").slice(0, 32)}`;

/**
 * MCP servers' OAuth (the MCP authorization spec) with the SDK's own flow: protected-resource and
 * authorization-server discovery, dynamic client registration (or a client kept from before),
 * PKCE, the resource indicator, scope step-up and refresh are the SDK's `auth()`; this provider
 * keeps what it needs per (tenant, server) in the vault, and turns "redirect the user" into a link
 * recorded for the person (an authorization pending, found by its state at agentd's callback).
 */
export class McpAuth {
  readonly #d: McpAuthDeps;

  constructor(d: McpAuthDeps) {
    this.#d = d;
  }

  /** The provider the MCP transport of `server` uses for `tenant`. */
  provider(tenant: TenantScope, server: McpAuthServer, fetchFn?: FetchLike): OAuthClientProvider {
    const name = mcpKeptName(server.name, server.url);
    const pre = server.oauth;
    const read = async (): Promise<Kept> => {
      const raw = await this.#d.vault.get(tenant, name);
      return raw ? (JSON.parse(raw) as Kept) : { server: server.name, url: server.url };
    };
    const write = async (change: (k: Kept) => void) => {
      const k = await read();
      change(k);
      await this.#d.vault.put(tenant, name, JSON.stringify(k));
    };
    const redirectUri = this.#d.redirectUri();
    let state: string | null = null;
    const metadata: OAuthClientMetadata = {
      client_name: "agentd",
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: pre?.authMethod ?? "client_secret_post",
      ...(pre?.scopes?.length ? { scope: pre.scopes.join(" ") } : {}),
    };
    // A client registered beforehand is the definition's (its secret read from the vault now); none: the one registered dynamically and kept.
    const preRegistered = async (issuer: string | undefined): Promise<StoredOAuthClientInformation> => {
      const info: StoredOAuthClientInformation = {
        client_id: (pre as PreRegisteredClient).clientId,
        // Registered at the authorization server the server names (or the one the definition says).
        ...((pre?.issuer ?? issuer) ? { issuer: pre?.issuer ?? issuer } : {}),
      };
      if (pre?.authMethod) Object.assign(info, { token_endpoint_auth_method: pre.authMethod });
      if (pre?.clientSecret) {
        const secret = await this.#d.vault.get(tenant, pre.clientSecret.secret);
        if (secret === null)
          throw new AgentdError(
            "not_configured",
            `the MCP server "${server.name}" names the client secret ${pre.clientSecret.secret}, and the vault has none by that name: put it with PUT /v1/secrets/${pre.clientSecret.secret}`,
          );
        info.client_secret = secret;
      }
      return info;
    };
    const provider: OAuthClientProvider = {
      redirectUrl: redirectUri,
      clientMetadata: metadata,
      state: () => {
        state = randomBytes(24).toString("base64url");
        return state;
      },
      clientInformation: async (ctx) => (pre ? preRegistered(ctx?.issuer) : (await read()).client),
      tokens: async () => (await read()).tokens,
      saveTokens: (t) =>
        write((k) => {
          k.tokens = t;
          k.savedAt = this.#d.now();
        }),
      saveCodeVerifier: (v) => write((k) => void (k.verifier = v)),
      codeVerifier: async () => {
        const v = (await read()).verifier;
        if (!v) throw new AgentdError("oauth_failed", `no authorization of MCP server ${server.name} is under way`);
        return v;
      },
      saveAuthorizationServerUrl: (u) => write((k) => void (k.issuer = u)),
      authorizationServerUrl: async () => (await read()).issuer,
      saveResourceUrl: (u) => write((k) => void (k.resource = u)),
      resourceUrl: async () => (await read()).resource,
      saveDiscoveryState: (s) => write((k) => void (k.discovery = s)),
      discoveryState: async () => (await read()).discovery,
      invalidateCredentials: (scope) =>
        write((k) => {
          if (scope === "all" || scope === "client") delete k.client;
          if (scope === "all" || scope === "tokens") delete k.tokens;
          if (scope === "all" || scope === "verifier") delete k.verifier;
          if (scope === "all" || scope === "discovery") delete k.discovery;
        }),
      // The person is not here to be redirected: the link is recorded, and sent by the turn that needs it.
      redirectToAuthorization: async (url) => {
        const s = url.searchParams.get("state") ?? state;
        if (!s) throw new AgentdError("oauth_failed", "the authorization link has no state");
        const now = this.#d.now();
        const id = `mcpa_${createHash("sha256").update(s).digest("hex").slice(0, 24)}`;
        const k = await read();
        if (!pre && fetchFn) await widenRegistration(k, url, metadata, fetchFn);
        k.link = url.href;
        await this.#d.vault.putMany(tenant, { [name]: JSON.stringify(k) }, (tx) =>
          pendingRows.create(
            tx,
            { id, state: s, connection: `mcp:${server.name}`, app: `mcp:${name}`, runId: null, sessionId: null },
            now,
            now + this.#d.linkTtlMs,
          ),
        );
      },
    };
    // A client registered dynamically is kept; a pre-registered one is never replaced by a registration
    // (the SDK registers only through this), and its secret stays where the tenant put it.
    if (!pre) provider.saveClientInformation = (c) => write((k) => void (k.client = c));
    return provider;
  }

  /**
   * The transport's fetch with every token refresh under the server's lease (connections/lease.ts),
   * one at a time across processes: a rotating refresh token is spent once. A refresh that finds
   * the kept refresh token changed since its caller read it (another process refreshed) answers
   * with the kept tokens instead of spending the old one, which the provider would refuse and the
   * person be asked again for nothing. A refresh made is kept before the lease is given back.
   */
  refreshing(tenant: TenantScope, server: McpAuthServer, inner: Fetch): Fetch {
    const name = mcpKeptName(server.name, server.url);
    return async (input, init) => {
      const form = init?.body instanceof URLSearchParams ? init.body : null;
      if (form?.get("grant_type") !== "refresh_token") return inner(input, init);
      const sent = form.get("refresh_token");
      return withLease(tenant, name, { now: this.#d.now }, async () => {
        const raw = await this.#d.vault.get(tenant, name);
        const kept = raw ? (JSON.parse(raw) as Kept) : null;
        if (kept?.tokens?.refresh_token && kept.tokens.refresh_token !== sent) return keptTokens(kept, this.#d.now());
        const res = await inner(input, init);
        if (!res.ok || !kept) return res;
        const text = await res.text();
        let fresh: StoredOAuthTokens;
        try {
          fresh = JSON.parse(text) as StoredOAuthTokens;
        } catch {
          return new Response(text, { status: res.status, headers: res.headers });
        }
        if (typeof fresh.access_token === "string") {
          // A provider that does not rotate keeps the old refresh token valid, as the SDK assumes too.
          kept.tokens = { ...kept.tokens, ...fresh, refresh_token: fresh.refresh_token ?? (sent as string) };
          kept.savedAt = this.#d.now();
          await this.#d.vault.put(tenant, name, JSON.stringify(kept));
        }
        return new Response(text, { status: res.status, headers: res.headers });
      });
    };
  }

  /** The link a person must follow for `server`, when an authorization waits for them. */
  async link(tenant: TenantScope, server: { name: string; url: string }): Promise<string | null> {
    const raw = await this.#d.vault.get(tenant, mcpKeptName(server.name, server.url));
    return raw ? ((JSON.parse(raw) as Kept).link ?? null) : null;
  }

  /** Whether tokens are kept for `server` (it may still refuse them: the transport then asks again). */
  async authorized(tenant: TenantScope, server: { name: string; url: string }): Promise<boolean> {
    const raw = await this.#d.vault.get(tenant, mcpKeptName(server.name, server.url));
    return raw ? !!(JSON.parse(raw) as Kept).tokens : false;
  }

  /**
   * The callback of an MCP server's authorization: the SDK exchanges the code (PKCE verifier, issuer
   * check, resource indicator) and keeps the tokens through the provider.
   */
  async complete(tenant: TenantScope, p: Pending, url: URL, fetchFn: FetchLike): Promise<void> {
    const name = p.app.slice("mcp:".length);
    const raw = await this.#d.vault.get(tenant, name);
    if (!raw) throw new AgentdError("conflict", "this MCP server's authorization was removed: ask for a new link");
    const kept = JSON.parse(raw) as Kept;
    const code = url.searchParams.get("code");
    const error = url.searchParams.get("error");
    if (!code) throw new AgentdError("oauth_failed", `the authorization server answered ${error ?? "without a code"}`);
    // The SDK is loaded on the first authorization, not with agentd: it costs seconds of every command's start.
    const { auth } = await import("@modelcontextprotocol/client");
    const now = await this.#d.server?.(tenant, kept.server);
    const server = now && now.url === kept.url ? now : { name: kept.server, url: kept.url };
    const result = await auth(this.provider(tenant, server, fetchFn), {
      serverUrl: kept.url,
      authorizationCode: code,
      ...(url.searchParams.get("iss") ? { iss: url.searchParams.get("iss") as string } : {}),
      fetchFn,
    });
    if (result !== "AUTHORIZED") throw new AgentdError("oauth_failed", "the authorization server did not issue tokens");
    const k = JSON.parse((await this.#d.vault.get(tenant, name)) as string) as Kept;
    delete k.link;
    delete k.verifier;
    await this.#d.vault.putMany(tenant, { [name]: JSON.stringify(k) }, (tx) => pendingRows.mark(tx, p.id, "done"));
  }
}

/** The kept tokens as a token endpoint answers them, `expires_in` counted from when they were saved. */
function keptTokens(k: Kept, now: number): Response {
  const t = { ...k.tokens } as StoredOAuthTokens & { issuer?: string };
  delete t.issuer;
  if (t.expires_in !== undefined && k.savedAt !== undefined)
    t.expires_in = Math.max(0, Math.floor(t.expires_in - (now - k.savedAt) / 1000));
  return new Response(JSON.stringify(t), { status: 200, headers: { "content-type": "application/json" } });
}

/**
 * Step-up with a client registered dynamically: the SDK registered it with the scope of its first
 * authorization, and an authorization server that holds clients to their registered scope refuses
 * a wider one (invalid_scope). When the link asks for more than the client was registered with, a
 * client is registered again with the link's scope, and the link names it.
 */
async function widenRegistration(k: Kept, url: URL, metadata: OAuthClientMetadata, fetchFn: FetchLike) {
  const registered = (k.client as { scope?: string } | undefined)?.scope?.split(" ") ?? null;
  const wanted = url.searchParams.get("scope")?.split(" ") ?? [];
  const server = k.discovery?.authorizationServerMetadata;
  if (!k.client || !registered || !server?.registration_endpoint || wanted.every((x) => registered.includes(x))) return;
  const { registerClient } = await import("@modelcontextprotocol/client");
  const fresh = await registerClient(k.discovery?.authorizationServerUrl as string, {
    metadata: server,
    clientMetadata: metadata,
    scope: wanted.join(" "),
    fetchFn,
  });
  k.client = { ...fresh, ...(k.client.issuer ? { issuer: k.client.issuer } : {}) };
  url.searchParams.set("client_id", fresh.client_id);
}
