import type * as oidc from "openid-client";
import { oidcLib } from "./oidc.ts";
import { guardedFetch } from "../net/guard.ts";
import type { NetPolicy } from "../net/policy.ts";
import type { OAuthApp } from "./apps.ts";

const TIMEOUT_MS = 15_000;
const MAX_BYTES = 256 * 1024;
const DISCOVERY_TTL_MS = 60 * 60_000;

/**
 * openid-client's fetch, through the SSRF guard: an app's endpoints (a tenant's own app names any
 * URL it likes) reach only what the deployment's net policy allows, with bounded time and size.
 * Redirects are not followed: a token endpoint that redirects is refused as openid-client would.
 */
export function guardedCustomFetch(net: NetPolicy): oidc.CustomFetch {
  return async (url, options) => {
    const headers: Record<string, string> = {};
    new Headers(options.headers as ConstructorParameters<typeof Headers>[0]).forEach((v, k) => {
      headers[k] = v;
    });
    const body = options.body === undefined || options.body === null ? undefined : String(options.body);
    const res = await guardedFetch(url, { method: options.method ?? "GET", headers, ...(body ? { body } : {}) }, net, {
      maxBytes: MAX_BYTES,
      timeoutMs: TIMEOUT_MS,
      maxRedirects: 0,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const noBody = res.status === 204 || res.status === 304;
    return new Response(noBody ? null : new Uint8Array(res.body), { status: res.status, headers: res.headers });
  };
}

/** http:// endpoints only where the operator let private addresses be reached (tests, internal providers). */
function insecureAllowed(app: OAuthApp, net: NetPolicy): boolean {
  const urls = [app.issuer, app.authorizationUrl, app.tokenUrl].filter((u): u is string => !!u);
  return urls.some((u) => {
    const url = new URL(u);
    return url.protocol === "http:" && (net.allowPrivate || net.allowHosts.includes(url.host));
  });
}

/**
 * The openid-client `Configuration` of apps: discovered from the issuer (cached an hour; the issuer
 * in the document must be the one configured, which openid-client checks) or built from explicit
 * endpoints for plain OAuth 2 providers (GitHub), whose `issuer` is then the authorization URL's origin.
 */
export class OAuthClients {
  readonly #net: NetPolicy;
  readonly #cache = new Map<string, { at: number; config: Promise<oidc.Configuration> }>();

  constructor(net: NetPolicy) {
    this.#net = net;
  }

  get net(): NetPolicy {
    return this.#net;
  }

  /** `owner`: "" for the operator's apps, the tenant id for a tenant's own (their names may overlap). */
  configuration(owner: string, app: OAuthApp): Promise<oidc.Configuration> {
    const key = JSON.stringify([owner, app]);
    const hit = this.#cache.get(key);
    if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.config;
    const config = this.#build(app);
    config.catch(() => this.#cache.delete(key));
    this.#cache.set(key, { at: Date.now(), config });
    if (this.#cache.size > 1000) this.#cache.delete(this.#cache.keys().next().value as string);
    return config;
  }

  async #build(app: OAuthApp): Promise<oidc.Configuration> {
    const lib = await oidcLib();
    const auth = app.clientSecret ? lib.ClientSecretPost(app.clientSecret) : lib.None();
    const fetch = guardedCustomFetch(this.#net);
    const insecure = insecureAllowed(app, this.#net);
    let config: oidc.Configuration;
    if (app.issuer && !(app.authorizationUrl && app.tokenUrl)) {
      config = await lib.discovery(new URL(app.issuer), app.clientId, app.clientSecret, auth, {
        [lib.customFetch]: fetch,
        ...(insecure ? { execute: [lib.allowInsecureRequests] } : {}),
      });
    } else {
      const server: oidc.ServerMetadata = {
        issuer: app.issuer ?? new URL(app.authorizationUrl as string).origin,
        authorization_endpoint: app.authorizationUrl as string,
        token_endpoint: app.tokenUrl as string,
        ...(app.revocationUrl ? { revocation_endpoint: app.revocationUrl } : {}),
        ...(app.userinfoUrl ? { userinfo_endpoint: app.userinfoUrl } : {}),
        code_challenge_methods_supported: ["S256"],
      };
      config = new lib.Configuration(server, app.clientId, app.clientSecret, auth);
      if (insecure) lib.allowInsecureRequests(config);
    }
    config[lib.customFetch] = fetch;
    config.timeout = TIMEOUT_MS / 1000;
    return config;
  }
}
