import { z } from "zod";
import { guardedFetch } from "../../net/guard.ts";
import { originOf, plainHost } from "../../net/origin.ts";
import { readableText } from "../../net/readable.ts";
import { NAME as CONNECTION_NAME } from "../../connections/apps.ts";
import { AgentdError } from "../../errors.ts";
import { isReservedSecret, reservedSecretError } from "../../vault/vault.ts";
import type { Tool } from "../types.ts";

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/; // an HTTP header name
const SECRET_NAME = /^[A-Za-z0-9_.-]{1,64}$/; // the vault's names: no "*", so an "Always" rule names one secret

const Args = z
  .object({
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]).optional(),
    url: z
      .url({ protocol: /^https?$/ })
      .max(4000)
      .refine(plainHost, "a host name cannot contain *"),
    // Header names are checked with a refinement, not a key schema: a key schema becomes JSON Schema
    // "propertyNames", which OpenAI-compatible endpoints do not accept.
    headers: z
      .object({})
      .catchall(z.string().max(8000))
      .refine(
        (h) => Object.keys(h).every((k) => k.length <= 100 && TOKEN.test(k)),
        "header names must be HTTP tokens of at most 100 characters",
      )
      .optional(),
    body: z.string().max(1_000_000).optional(),
    auth: z
      .object({
        secret: z
          .string()
          .regex(SECRET_NAME, "a vault secret name is 1-64 of A-Z a-z 0-9 _ . -")
          .describe("vault secret name"),
        scheme: z.enum(["bearer", "basic", "header"]).optional(),
        header: z.string().regex(TOKEN).max(100).optional(),
      })
      .optional(),
    connection: z
      .string()
      .regex(CONNECTION_NAME, "a connection name is 1-32 of a-z 0-9 _ -")
      .describe("OAuth app to act as, e.g. github")
      .optional(),
  })
  .refine((a) => !(a.auth && a.connection), "use auth (a vault secret) or connection (an OAuth connection), not both");
type Args = z.infer<typeof Args>;

const MAX_BYTES = 1_000_000;
const TIMEOUT_MS = 30_000;
const MAX_TEXT = 7_000;
/** Response headers worth a model's attention; the rest (cookies, tracing) is noise or sensitive. */
const SHOWN =
  /^(content-type|content-length|location|retry-after|www-authenticate|link|etag|last-modified|x-ratelimit-.*|ratelimit-.*|x-request-id)$/;
/** Headers the request framing owns: letting the model set them invites smuggling or a wrong length. */
const OWNED = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer"]);
export const REDACTED = "[secret]";
/**
 * Methods HTTP defines as idempotent (RFC 9110 §9.2.2): a request sent again has the effect of one,
 * so a call cut by its worker's death is sent again by itself, as HTTP clients retry them. POST and
 * PATCH may act twice: a person is asked first.
 */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * http_request: a call to an API, optionally authenticated with a secret from the tenant's vault.
 * The secret is read at call time and goes into the outgoing header only; the model sees its name,
 * never its value, and every echo of it in the response comes back as [secret].
 */
export const httpRequestTool: Tool<Args> = {
  name: "http_request",
  description:
    "Make an HTTP request; auth.secret names a vault secret to send; connection, an OAuth app (the person is asked to connect it).",
  input: Args,
  risk: "high",
  defaultDecision: "ask",
  untrusted: true,
  timeoutMs: TIMEOUT_MS + 5_000,
  // The subject says where the request goes and which secret it sends; "Always" allows that host with
  // that secret (or with none), every method and path: never another host, never another secret.
  subject: (a) => `${a.method ?? "GET"} ${new URL(a.url).href} ${sends(a)}`,
  always: (a) => {
    const origin = originOf(a.url);
    return { pattern: `* ${origin}/* ${sends(a)}`, shown: `every http_request to ${origin} ${sends(a)}` };
  },
  connection: (a) => a.connection,
  rerun: async (a) => IDEMPOTENT.has(a.method ?? "GET"),
  async run(args, ctx) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(args.headers ?? {}))
      if (!OWNED.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
    let variants: string[] = [];
    const strip: string[] = [];
    if (args.auth) {
      const { secret, scheme = "bearer", header } = args.auth;
      // The vault's reader refuses these too; saying so before any read keeps the reason plain.
      if (isReservedSecret(secret)) throw reservedSecretError(secret);
      const value = await ctx.secrets.get(secret);
      if (value === null)
        throw new AgentdError(
          "secret_not_found",
          `no secret named ${JSON.stringify(secret)} in this tenant's vault; ask the user to add it, then call again`,
        );
      const name = scheme === "header" ? header?.toLowerCase() : "authorization";
      if (!name)
        throw new AgentdError(
          "bad_request",
          'auth.scheme "header" needs auth.header, the header to send the secret in',
        );
      const basic = Buffer.from(value).toString("base64");
      headers[name] = scheme === "bearer" ? `Bearer ${value}` : scheme === "basic" ? `Basic ${basic}` : value;
      strip.push(name);
      variants = secretForms(value, basic);
    }
    if (args.connection) {
      const conns = ctx.services.connections;
      if (!conns) throw new AgentdError("not_configured", "OAuth connections are not available in this deployment");
      const { token, hosts } = await conns.bearer(ctx.tenant, args.connection);
      // The token goes only where its app's API is: never to a host the model picked.
      const host = new URL(args.url).host;
      if (!hosts.includes(host))
        throw new AgentdError(
          "forbidden",
          `connection ${args.connection} sends its token only to ${hosts.join(", ")}, not ${host}; call one of those, or use no connection`,
        );
      headers.authorization = `Bearer ${token}`;
      strip.push("authorization");
      variants = secretForms(token, Buffer.from(token).toString("base64"));
    }
    const method = args.method ?? "GET";
    const res = await guardedFetch(args.url, { method, headers, body: args.body }, ctx.services.net, {
      maxBytes: MAX_BYTES,
      timeoutMs: TIMEOUT_MS,
      signal: ctx.signal,
      stripOnRedirect: strip,
    });
    const shown: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (SHOWN.test(k)) shown[k] = redact(v, variants, false);
    // Every vault value goes before the cut: a secret straddling it would leave its head.
    let text =
      method === "HEAD"
        ? ""
        : ctx.redact(redact(readableText(res.body, res.headers["content-type"]).text, variants, res.truncated));
    const cut = text.length > MAX_TEXT;
    if (cut) text = `${text.slice(0, MAX_TEXT)}\n[… body cut at ${MAX_TEXT} characters]`;
    return {
      status: res.status,
      url: redact(res.url, variants, false),
      headers: shown,
      body: text,
      truncated: res.truncated || cut,
    };
  },
};

/** Which secret a request sends, as its subject ends: a URL in normal form has no spaces, so the end is unambiguous. */
const sends = (a: Args) =>
  a.auth ? `with secret ${a.auth.secret}` : a.connection ? `as connection ${a.connection}` : "with no secret";

/** The ways a server may echo a secret back: as is, base64 (Basic), JSON-escaped, URL-encoded. */
function secretForms(value: string, basic: string): string[] {
  const forms = new Set([value, basic, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]);
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

/**
 * Replaces every occurrence of the secret's forms. When the body was cut, it may end in the first
 * characters of a secret: that tail goes too (a prefix of a secret is part of the secret).
 */
export function redact(text: string, forms: readonly string[], cutTail: boolean): string {
  let out = text;
  for (const f of forms) out = out.replaceAll(f, REDACTED);
  if (cutTail)
    for (const f of forms)
      for (let n = Math.min(f.length - 1, out.length); n >= 1; n--)
        if (out.endsWith(f.slice(0, n))) {
          out = out.slice(0, out.length - n) + REDACTED;
          break;
        }
  return out;
}
