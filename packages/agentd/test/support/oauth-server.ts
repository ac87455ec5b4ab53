// A real OpenID Connect provider (`oidc-provider`, a certified implementation) on 127.0.0.1, with a
// GitHub-like API beside it that accepts only the access tokens the provider issued for it. The
// person's part (login, consent) is played by `authorize`, which follows a connect link through the
// provider's development interactions and stops at the redirect back to agentd.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { errors } from "oidc-provider";

export interface OAuthServer {
  issuer: string;
  /** The GitHub-like API: PUT /user/starred/:owner/:repo stars, GET /user answers who. */
  apiUrl: string;
  provider: Provider;
  clientId: string;
  clientSecret: string;
  /** Counts of token endpoint grants by type, as the provider handled them. */
  grants: { authorization_code: number; refresh_token: number };
  /** Every Authorization header the API received. */
  apiAuth: string[];
  /** Every access token, refresh token and authorization code the provider issued (opaque: its value is its id). */
  issued: { kind: "access" | "refresh" | "code"; value: string }[];
  starred: Set<string>;
  /** Follows a connect link as a person who logs in as `account` and consents (or refuses); returns the redirect back to agentd. */
  authorize(link: string, opts?: { account?: string; deny?: boolean }): Promise<URL>;
  /** Revokes every grant of the account (the person withdrew consent at the provider). */
  revokeConsent(account: string): Promise<void>;
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function startOAuthServer(opts: {
  redirectUri: string;
  accessTtlSeconds?: number;
  /** Whether refresh tokens rotate (a used one is spent; its reuse revokes the grant). */
  rotate?: boolean;
  /** More protected resources the provider issues tokens for (an MCP server's URL), with scopes "mcp" and "mcp:write". */
  resources?: string[];
}): Promise<OAuthServer> {
  const clientId = "agentd-test";
  const clientSecret = "client-secret-that-is-long-enough-for-hs256-0123456789";
  let api!: { server: Server; url: string };
  const holder: { provider?: Provider } = {};
  const grants = { authorization_code: 0, refresh_token: 0 };
  const apiAuth: string[] = [];
  const starred = new Set<string>();
  api = await listen((req, res) => {
    void (async () => {
      const auth = String(req.headers.authorization ?? "");
      apiAuth.push(auth);
      const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
      const found = token ? await holder.provider?.AccessToken.find(token) : undefined;
      const aud = [found?.aud ?? []].flat();
      if (!found || found.isExpired || !aud.includes(`${api.url}/`)) {
        res.writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer error="invalid_token"' });
        res.end(JSON.stringify({ message: "Bad credentials" }));
        return;
      }
      const star = /^\/user\/starred\/([\w.-]+)\/([\w.-]+)$/.exec(req.url ?? "");
      if (req.method === "PUT" && star) {
        starred.add(`${found.accountId}:${star[1]}/${star[2]}`);
        res.writeHead(204).end();
        return;
      }
      if (req.method === "GET" && req.url === "/user") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ login: found.accountId, echo: token }));
        return;
      }
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ message: "Not Found" }));
    })().catch((e) => {
      res.writeHead(500).end(String(e));
    });
  });
  const resource = `${api.url}/`;
  let issuerServer!: { server: Server; url: string };
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  issuerServer = await listen((req, res) => handler?.(req, res));
  const provider = new Provider(issuerServer.url, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [opts.redirectUri],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    pkce: { required: () => true },
    scopes: ["openid", "offline_access", "repo", "mcp", "mcp:write"],
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      // Dynamic client registration (RFC 7591), as MCP clients use it.
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx: unknown, _client: unknown, one?: string) => one ?? resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (opts.resources?.includes(indicator))
            return {
              scope: "mcp mcp:write",
              audience: indicator,
              accessTokenFormat: "opaque",
              accessTokenTTL: opts.accessTtlSeconds ?? 3600,
            };
          if (indicator !== resource) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          return {
            scope: "repo",
            audience: resource,
            accessTokenFormat: "opaque",
            accessTokenTTL: opts.accessTtlSeconds ?? 3600,
          };
        },
      },
    },
    issueRefreshToken: () => true,
    rotateRefreshToken: opts.rotate ?? true,
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    ttl: { AccessToken: opts.accessTtlSeconds ?? 3600 },
  });
  provider.on("grant.success", (ctx: unknown) => {
    const t = (ctx as { oidc?: { params?: { grant_type?: string } } }).oidc?.params?.grant_type;
    if (t === "authorization_code" || t === "refresh_token") grants[t]++;
  });
  // Grants by account, from the tokens the provider saves: revoking consent destroys them.
  const grantAccounts = new Map<string, string>();
  const accessByGrant = new Map<string, string[]>();
  provider.on("refresh_token.saved", (t: { grantId?: string; accountId?: string }) => {
    if (t.grantId && t.accountId) grantAccounts.set(t.grantId, t.accountId);
  });
  provider.on("access_token.saved", (t: { grantId?: string; jti?: string }) => {
    if (t.grantId && t.jti) accessByGrant.set(t.grantId, [...(accessByGrant.get(t.grantId) ?? []), t.jti]);
  });
  const issued: OAuthServer["issued"] = [];
  for (const [event, kind] of [
    ["access_token.saved", "access"],
    ["refresh_token.saved", "refresh"],
    ["authorization_code.saved", "code"],
  ] as const)
    provider.on(event, (t: { jti?: string }) => void (t.jti && issued.push({ kind, value: t.jti })));
  holder.provider = provider;
  handler = provider.callback();

  async function authorize(link: string, o: { account?: string; deny?: boolean } = {}): Promise<URL> {
    const jar = new Map<string, string>();
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    let url = new URL(link);
    let method = "GET";
    let body: string | undefined;
    for (let hops = 0; hops < 20; hops++) {
      if (url.href.startsWith(opts.redirectUri)) return url;
      const res = await fetch(url, {
        method,
        redirect: "manual",
        headers: { cookie: cookie(), ...(body ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
        ...(body ? { body } : {}),
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(";");
        const i = (pair as string).indexOf("=");
        jar.set((pair as string).slice(0, i), (pair as string).slice(i + 1));
      }
      const location = res.headers.get("location");
      if (location) {
        url = new URL(location, url);
        method = "GET";
        body = undefined;
        continue;
      }
      const html = await res.text();
      if (res.status !== 200)
        throw new Error(
          `the provider answered ${res.status}: ${html
            .replace(/<[^>]+>/g, " ")
            .replace(/\s+/g, " ")
            .slice(0, 600)}`,
        );
      // A development interaction page: a login form, then a consent form.
      const action = /action="([^"]+)"/.exec(html)?.[1];
      if (!action) throw new Error(`no form on the provider's page: ${html.slice(0, 300)}`);
      const abort = /href="([^"]*\/abort)"/.exec(html)?.[1];
      if (o.deny && abort) {
        url = new URL(abort, url);
        continue;
      }
      url = new URL(action, url);
      method = "POST";
      body = html.includes('name="login"')
        ? new URLSearchParams({ prompt: "login", login: o.account ?? "alice", password: "x" }).toString()
        : new URLSearchParams({ prompt: "consent" }).toString();
    }
    throw new Error("too many hops following the connect link");
  }

  return {
    issuer: issuerServer.url,
    apiUrl: api.url,
    provider,
    clientId,
    clientSecret,
    grants,
    apiAuth,
    issued,
    starred,
    authorize,
    async revokeConsent(account) {
      for (const [id, who] of grantAccounts)
        if (who === account) {
          const g = await provider.Grant.find(id);
          await g?.destroy();
          // Its access tokens stop working too, as at a provider whose consent page revokes everything.
          for (const jti of accessByGrant.get(id) ?? []) await (await provider.AccessToken.find(jti))?.destroy();
        }
    },
    close: async () => {
      for (const s of [api.server, issuerServer.server]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}
