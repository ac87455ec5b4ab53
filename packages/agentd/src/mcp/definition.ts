import { z } from "zod";
import { Scope } from "../connections/apps.ts";
import { refusedEnvName } from "./env-allow.ts";

/**
 * What defines one MCP server: its name (the middle part of its tools' names, `mcp__<name>__<tool>`),
 * how it is reached (streamable HTTP at a URL, or a command run over stdio), and the values it is
 * given: HTTP headers or environment variables, each a plain value or a reference to a secret in the
 * tenant's vault (read at connect time, never stored here, never shown).
 */

/** Lower case, digits and "-": it appears in every tool name of the server, unchanged. */
export const SERVER_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const ServerName = z
  .string()
  .regex(SERVER_NAME, 'a server name is 1-32 of a-z, 0-9 and "-", starting with a letter or digit (e.g. "github")');

/** A plain value (not secret: stored as is) or a secret of the tenant's vault by name, with an optional prefix ("Bearer "). */
export const ValueRef = z.union([
  z.strictObject({ value: z.string().max(4_000) }),
  z.strictObject({
    secret: z.string().min(1).max(200).describe("the name of a secret in the tenant's vault"),
    prefix: z.string().max(100).optional().describe('text put before the secret\'s value, e.g. "Bearer "'),
  }),
]);
export type ValueRef = z.infer<typeof ValueRef>;

/** `${secret:NAME}` at the end of a text names a secret of the tenant's vault; what comes before it is a prefix. */
const SECRET_REF = /^(.*)\$\{secret:([^}]+)\}$/s;

/** A value as people and models write it (the CLI's NAME=VALUE, the chat tool): plain text, or `Bearer ${secret:TOKEN}`. */
export function valueRefOf(text: string): ValueRef {
  const ref = SECRET_REF.exec(text);
  return ref ? { secret: ref[2] as string, ...(ref[1] ? { prefix: ref[1] } : {}) } : { value: text };
}

/** Headers agentd or the transport sets, which a definition may not replace. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "content-type",
  "accept",
  "connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "keep-alive",
  "proxy-authorization",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
]);

const Headers = z.record(z.string(), ValueRef).superRefine((h, ctx) => {
  for (const name of Object.keys(h)) {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(name))
      ctx.addIssue({
        code: "custom",
        message: `header ${JSON.stringify(name.slice(0, 70))}: 1-64 letters, digits and "-"`,
      });
    else if (RESERVED_HEADERS.has(name.toLowerCase()))
      ctx.addIssue({ code: "custom", message: `header ${name} is set by the transport and cannot be given` });
  }
  if (Object.keys(h).length > 20) ctx.addIssue({ code: "custom", message: "at most 20 headers" });
});

const Env = z.record(z.string(), ValueRef).superRefine((env, ctx) => {
  for (const name of Object.keys(env)) {
    const why = refusedEnvName(name);
    if (why) ctx.addIssue({ code: "custom", message: why });
  }
  if (Object.keys(env).length > 50) ctx.addIssue({ code: "custom", message: "at most 50 environment variables" });
});

const HttpUrl = z
  .string()
  .max(2_000)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password;
    } catch {
      return false;
    }
  }, "an http(s) URL without credentials in it (put a token in a header that names a secret)");

/**
 * A client registered beforehand at the server's authorization server (for one that does not offer
 * dynamic registration): its id, and its secret by name in the tenant's vault (never a value here:
 * definitions are listed to the tenant).
 */
export const PreRegisteredClient = z.strictObject({
  clientId: z.string().min(1).max(500),
  clientSecret: z
    .strictObject({ secret: z.string().min(1).max(200).describe("the name of a secret in the tenant's vault") })
    .optional(),
  authMethod: z.enum(["client_secret_basic", "client_secret_post", "none"]).optional(),
  /** The authorization server it is registered at: another named by the server is refused. Default: the one the server names. */
  issuer: HttpUrl.optional(),
  scopes: z.array(Scope).max(50).optional(),
});
export type PreRegisteredClient = z.infer<typeof PreRegisteredClient>;

export const HttpServer = z.strictObject({
  name: ServerName,
  transport: z.literal("http"),
  url: HttpUrl.describe(
    "the server's streamable HTTP endpoint; an older server's SSE endpoint is tried when it refuses",
  ),
  headers: Headers.default({}),
  oauth: PreRegisteredClient.optional().describe(
    "an OAuth client registered beforehand, when the server's authorization server offers no dynamic registration",
  ),
  enabled: z.boolean().default(true),
});

export const StdioServer = z.strictObject({
  name: ServerName,
  transport: z.literal("stdio"),
  command: z.string().min(1).max(500).describe("the program, run in the sandbox"),
  args: z.array(z.string().max(4_000)).max(50).default([]),
  env: Env.default({}).describe("its whole environment besides PATH, LANG and TZ: nothing else is inherited"),
  enabled: z.boolean().default(true),
});

/** A server as the API, the CLI and the chat tool add it. */
export const McpServerDef = z.discriminatedUnion("transport", [HttpServer, StdioServer]);
export type McpServerDef = z.infer<typeof McpServerDef>;
export type HttpServerDef = z.infer<typeof HttpServer>;
export type StdioServerDef = z.infer<typeof StdioServer>;

/** Where a definition comes from: the tenant's own, or the operator's for every tenant (AGENTD_MCP_SERVERS). */
export type ServerOrigin = "tenant" | "operator";

/** A definition as stored and listed. */
export type McpServer = McpServerDef & { origin: ServerOrigin; createdAt: number | null };

/** What a client is shown: the definition (secret references by name only: no value is ever read for it). */
export function describeServer(s: McpServer): string {
  return s.transport === "http" ? s.url : [s.command, ...s.args].join(" ");
}
