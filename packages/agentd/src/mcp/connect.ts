import {
  type AuthProvider,
  Client,
  type OAuthClientProvider,
  SdkHttpError,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Tool,
  type Transport,
} from "@modelcontextprotocol/client";
import { AgentdError } from "../errors.ts";
import type { Resolver } from "../net/guard.ts";
import type { NetPolicy } from "../net/policy.ts";
import { type FetchFn, streamingFetch } from "../net/stream-fetch.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { SecretReader } from "../vault/reader.ts";
import type { HttpServerDef, McpServer, StdioServerDef, ValueRef } from "./definition.ts";
import { serverEnv } from "./env-allow.ts";
import { McpError } from "./errors.ts";
import { ProcessTransport } from "./transport/process.ts";
import type { Spawner } from "./transport/spawn.ts";

/** Largest single HTTP response (or event stream before it reconnects) from a server. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Pages of tools/list followed at most. */
const MAX_LIST_PAGES = 8;

/**
 * The OAuth hook of HTTP servers: given a tenant and one of its servers, the SDK's
 * `OAuthClientProvider` (the MCP authorization flow: discovery, registration, PKCE, tokens the
 * provider keeps in the vault) or a plain `AuthProvider` (`token()`), or undefined for none. The
 * transport calls it on every request; an authorization that needs the person makes `connect`
 * fail with the SDK's `UnauthorizedError` as the error's cause, code "unauthorized".
 */
export type McpAuthHook = (ctx: {
  tenant: TenantScope;
  server: HttpServerDef & { origin: McpServer["origin"] };
  /** The guarded fetch the transport uses: for the provider's own requests to the authorization server. */
  fetch: FetchFn;
}) => McpAuthGiven | undefined | Promise<McpAuthGiven | undefined>;

/**
 * What the hook gives: a provider, or a provider with `wrapFetch`, which wraps every request the
 * transport makes (its OAuth requests included: a token refresh under a lease across processes).
 */
export type McpAuthGiven =
  | OAuthClientProvider
  | AuthProvider
  | { provider: OAuthClientProvider | AuthProvider; wrapFetch(fetch: FetchFn): FetchFn };

export interface ConnectDeps {
  net: NetPolicy;
  resolve?: Resolver;
  spawner: Spawner;
  auth?: McpAuthHook;
}

/** One open session with a server. */
export interface Connection {
  client: Client;
  /** How it is reached: streamable HTTP, the older HTTP+SSE, or a process's stdio. */
  kind: "streamable-http" | "sse" | "stdio";
  /** The server process's id (stdio). */
  pid?: number;
  close(): Promise<void>;
}

/** Values of headers or variables: plain ones as given, secrets read from the tenant's vault now. */
export async function resolveValues(
  refs: Readonly<Record<string, ValueRef>>,
  secrets: SecretReader,
  server: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(refs)) {
    if ("value" in ref) out[name] = ref.value;
    else {
      const value = await secrets.get(ref.secret);
      if (value === null)
        throw new McpError(
          "not_configured",
          `the MCP server "${server}" needs the secret ${ref.secret} for ${name}, and the vault has none by that name: put it with PUT /v1/secrets/${ref.secret}`,
        );
      out[name] = `${ref.prefix ?? ""}${value}`;
    }
  }
  return out;
}

/**
 * Connects to one server and runs the handshake (the SDK negotiates the protocol version). HTTP:
 * streamable HTTP first; a server that refuses it with a 4xx is tried again over the older
 * HTTP+SSE transport, as the specification's compatibility section says. `onToolsChanged` is
 * called with the new list after the server says `notifications/tools/list_changed`.
 */
export async function connect(
  tenant: TenantScope,
  server: McpServer,
  secrets: SecretReader,
  deps: ConnectDeps,
  onToolsChanged: (tools: Tool[] | null) => void,
): Promise<Connection> {
  const client = () =>
    new Client(
      { name: "agentd", version: "0.1.0" },
      {
        listMaxPages: MAX_LIST_PAGES,
        listChanged: {
          tools: {
            debounceMs: 50,
            onChanged: (error, tools) => onToolsChanged(error ? null : tools),
          },
        },
      },
    );
  if (server.transport === "stdio") return connectStdio(tenant, server, secrets, deps, client());
  const headers = await resolveValues(server.headers, secrets, server.name);
  const url = new URL(server.url);
  const guarded = streamingFetch(deps.net, { maxBytes: MAX_RESPONSE_BYTES, resolve: deps.resolve });
  // The definition's headers go to the server's own origin only: never to an authorization server.
  const fetch: FetchFn = (input, init) => {
    const target = new URL(typeof input === "string" ? input : input.href);
    if (target.origin !== url.origin) return guarded(input, init);
    const h = new Headers(init?.headers);
    for (const [k, v] of Object.entries(headers)) if (!h.has(k)) h.set(k, v);
    return guarded(input, { ...init, headers: h });
  };
  const given = await deps.auth?.({ tenant, server, fetch: guarded });
  const authProvider = given && "provider" in given ? given.provider : given;
  const wrapped = given && "wrapFetch" in given ? given.wrapFetch(fetch) : fetch;
  const options = { fetch: wrapped, ...(authProvider ? { authProvider } : {}) };
  // The client closed, its kept-alive sockets go too.
  const closing = (c: Client) => async () => {
    try {
      await c.close();
    } finally {
      guarded.close();
    }
  };
  const streamable = client();
  try {
    await streamable.connect(new StreamableHTTPClientTransport(url, options));
    return { client: streamable, kind: "streamable-http", close: closing(streamable) };
  } catch (e) {
    await streamable.close().catch(() => {});
    if (!refusedStreamable(e)) {
      guarded.close();
      throw connectError(server, e);
    }
  }
  const sse = client();
  try {
    await sse.connect(new SSEClientTransport(url, options) as Transport);
    return { client: sse, kind: "sse", close: closing(sse) };
  } catch (e) {
    await closing(sse)().catch(() => {});
    throw connectError(server, e);
  }
}

async function connectStdio(
  tenant: TenantScope,
  server: StdioServerDef,
  secrets: SecretReader,
  deps: ConnectDeps,
  client: Client,
): Promise<Connection> {
  const env = serverEnv(await resolveValues(server.env, secrets, server.name));
  const transport = new ProcessTransport(deps.spawner, {
    command: server.command,
    args: server.args,
    env,
    tenantId: tenant.tenantId,
    server: server.name,
  });
  try {
    await client.connect(transport);
  } catch (e) {
    await transport.close().catch(() => {});
    const tail = transport.stderrTail.trim().split("\n").slice(-3).join(" | ");
    throw connectError(server, e, tail ? `; it wrote: ${tail.slice(-500)}` : "");
  }
  return {
    client,
    kind: "stdio",
    pid: transport.pid,
    close: async () => {
      await client.close().catch(() => {});
      await transport.close();
    },
  };
}

/** A server that answers streamable HTTP's first POST with 400, 404 or 405 may be an older HTTP+SSE server. */
function refusedStreamable(e: unknown): boolean {
  const status = SdkHttpError.isInstance(e) ? e.status : undefined;
  return status === 400 || status === 404 || status === 405;
}

function connectError(server: { name: string }, e: unknown, more = ""): McpError {
  const name = (e as { name?: string })?.name;
  // The SDK's UnauthorizedError (its OAuth flow needs the person), or a 401 with no auth provider at all.
  if (name === "UnauthorizedError" || (SdkHttpError.isInstance(e) && e.status === 401))
    return new McpError(
      "unauthorized",
      `the MCP server "${server.name}" needs an authorization: connect it again once the person has authorized it`,
      { cause: e },
    );
  // A secret its definition names is missing (a pre-registered client's): the tenant's to fix, not the server being down.
  const own = [e, (e as { cause?: unknown })?.cause].find((x) => AgentdError.is(x, "not_configured"));
  if (own) return new McpError("not_configured", (own as Error).message, { cause: e });
  // The SDK's own message: it names the server's status or the network failure, never a header we sent.
  const why = e instanceof Error ? e.message : String(e);
  return new McpError(
    "unavailable",
    `could not connect to the MCP server "${server.name}": ${why.slice(0, 300)}${more}`,
    {
      cause: e,
    },
  );
}
