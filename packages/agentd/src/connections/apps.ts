import { z } from "zod";

/** A connection's or an app's name: what the model and the person type ("github", "google-work"). */
export const NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const nameOf = z.string().regex(NAME, "a name is 1-32 of a-z 0-9 _ -, starting with a letter");
/** One OAuth scope (RFC 6749 §3.3): printable ASCII without spaces, quotes or backslashes. */
export const Scope = z
  .string()
  .regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,200}$/, "a scope is printable ASCII without spaces or quotes");
const https = z.url({ protocol: /^https?$/ }).max(2000);
const host = z
  .string()
  .max(253)
  .regex(/^[a-z0-9.-]+(:\d{1,5})?$/, "an API host is a lower-case host name, with a port if not the default");

/**
 * An OAuth 2 / OpenID Connect app a tenant's connections are made with: the operator's (for every
 * tenant, AGENTD_OAUTH_APPS) or a tenant's own (its client secret sealed in its vault). Either an
 * issuer to discover the endpoints from (OpenID Connect, RFC 8414), or the endpoints themselves
 * (GitHub and other plain OAuth 2 providers).
 */
export const OAuthAppSchema = z
  .strictObject({
    name: nameOf,
    clientId: z.string().min(1).max(500),
    /** Absent: a public client (PKCE only). */
    clientSecret: z.string().min(1).max(2000).optional(),
    issuer: https.optional(),
    authorizationUrl: https.optional(),
    tokenUrl: https.optional(),
    revocationUrl: https.optional(),
    userinfoUrl: https.optional(),
    scopes: z.array(Scope).max(50).default([]),
    /** RFC 8707 resource indicator: the API the tokens are for. */
    resource: https.optional(),
    /** Where the app's bearer token may be sent (http_request with a connection): host[:port]. Default: the issuer's or token URL's host. */
    apiHosts: z.array(host).max(20).optional(),
    /** What `connections test` GETs with the token (default: the userinfo endpoint, when there is one). */
    testUrl: https.optional(),
  })
  .refine((a) => a.issuer || (a.authorizationUrl && a.tokenUrl), {
    message: "an app needs an issuer (discovery) or both authorizationUrl and tokenUrl",
  });
export type OAuthApp = z.infer<typeof OAuthAppSchema>;

/** The operator's apps from AGENTD_OAUTH_APPS (a JSON array); throws with the reason a person can act on. */
export function parseOperatorApps(json: string | undefined): OAuthApp[] {
  if (!json) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(
      "it must be a JSON array of apps, each {name, clientId, clientSecret, issuer or authorizationUrl+tokenUrl, scopes, apiHosts}",
    );
  }
  const parsed = z.array(OAuthAppSchema).max(100).safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new Error(`app ${i?.path.join(".")}: ${i?.message}`);
  }
  const names = new Set<string>();
  for (const a of parsed.data) {
    if (names.has(a.name)) throw new Error(`two apps are named ${a.name}`);
    names.add(a.name);
  }
  return parsed.data;
}

/** The hosts an app's token may go to: its own list, else the host of its issuer (or token endpoint). */
export function apiHostsOf(app: OAuthApp): string[] {
  if (app.apiHosts?.length) return app.apiHosts;
  return [new URL((app.issuer ?? app.tokenUrl) as string).host];
}

/** What the API and the chat show of an app: never its secret. */
export function appView(app: OAuthApp, owner: "operator" | "tenant") {
  return {
    name: app.name,
    owner,
    issuer: app.issuer ?? null,
    scopes: app.scopes,
    apiHosts: apiHostsOf(app),
    ...(app.resource ? { resource: app.resource } : {}),
  };
}
