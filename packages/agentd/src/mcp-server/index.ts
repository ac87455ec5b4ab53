import { createMcpHonoApp } from "@modelcontextprotocol/hono";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import pkg from "../../package.json" with { type: "json" };
import type { Agentd } from "../app.ts";
import { actingTenant, callerOf, TENANT_HEADER } from "../api/auth.ts";
import type { AuthThrottle } from "../api/auth-throttle.ts";
import { AgentdError } from "../errors.ts";
import { onApiError, onNotFound } from "../api/errors.ts";
import { noteTenant } from "../api/access-log.ts";
import { callerClient, type McpCaller, type McpServerAppOptions } from "./api.ts";
import { MCP_PATH } from "./mount.ts";
import { allowedHostnames, HOST_ADVICE } from "./hosts.ts";
import { registerTools } from "./tools.ts";

const INSTRUCTIONS =
  "agentd runs a tenant's AI agent. send_message talks to it (a conversation name keeps a session); " +
  "when a tool call of the agent needs a person's approval the answer says so, and decide_approval decides it. " +
  "list_runs and get_run show what ran, search_memory what the agent remembers, list_schedules its reminders and jobs.";

/**
 * agentd as an MCP server (streamable HTTP, the SDK's handler for both protocol eras) at MCP_PATH,
 * an app of its own (`mcpRoute` hands it the requests): the Hono adapter's Host and Origin checks first (DNS-rebinding protection), then the
 * bearer token (a tenant's API key, or the admin token with X-Agentd-Tenant), then a server made
 * for this caller's request with agentd's tools.
 */
export function mcpServerApp(app: Agentd, o: McpServerAppOptions): Hono {
  const max = app.config.maxBodyBytes;
  const handler = createMcpHandler(
    ({ authInfo }) => {
      const caller = authInfo?.extra?.caller as McpCaller;
      const server = new McpServer({ name: "agentd", version: pkg.version }, { instructions: INSTRUCTIONS });
      registerTools(server, callerClient(o.api, caller), app.log);
      return server;
    },
    {
      maxRequestBodySize: max,
      onerror: (e) => app.log({ level: "warn", msg: "mcp request refused", error: e.message }),
    },
  );
  const hosts = allowedHostnames(app.config);
  // The adapter's app keeps the JSON body it parsed (after the Host and Origin checks) as `parsedBody`.
  const mcp = createMcpHonoApp({
    allowedHosts: hosts,
    allowedOrigins: hosts,
    maxRequestBodySize: max,
  }) as unknown as Hono<{
    Variables: { parsedBody?: unknown };
  }>;
  mcp.all(MCP_PATH, async (c) => {
    const caller = await authenticate(app, o.throttle, c);
    noteTenant(c.req.raw, caller.tenantId);
    return handler.fetch(c.req.raw, {
      authInfo: { token: caller.token, clientId: caller.tenantId, scopes: [], extra: { caller } },
      parsedBody: c.get("parsedBody"),
    });
  });
  const served = new Hono().use("*", explainRefusal).route("/", mcp);
  served.notFound(onNotFound);
  served.onError((e, c) => onApiError(e, c, app.log));
  return served;
}

/**
 * The caller of an MCP request, by its bearer token only: a browser's session cookie is not enough
 * (a page of another site could send it). A 401 carries the Bearer challenge MCP clients expect.
 */
async function authenticate(app: Agentd, throttle: AuthThrottle, c: Context): Promise<McpCaller> {
  const authorization = c.req.header("authorization");
  try {
    if (authorization === undefined)
      throw new AgentdError(
        "unauthorized",
        "agentd's MCP endpoint needs a token: configure the client to send Authorization: Bearer <a tenant API key> " +
          "(the operator makes one with `agentd tenants key <tenant id>`)",
      );
    const caller = await callerOf(app, throttle, c, authorization);
    const tenantId = await actingTenant(app, caller, c.req.header(TENANT_HEADER)?.trim() || null);
    return { token: /^Bearer\s+(\S+)/i.exec(authorization)?.[1] as string, tenantId, admin: caller.kind === "admin" };
  } catch (e) {
    if (AgentdError.is(e, "unauthorized")) c.header("www-authenticate", 'Bearer realm="agentd"');
    throw e;
  }
}

/** The SDK's refusal of a Host or Origin ("Invalid Host: evil.example") with what to do about it. */
const explainRefusal: MiddlewareHandler = async (c, next) => {
  await next();
  if (c.res.status !== 403 || !(c.res.headers.get("content-type") ?? "").includes("application/json")) return;
  const body = (await c.res.clone().json()) as { jsonrpc?: string; error?: { code?: number; message?: string } };
  const message = body.error?.message ?? "";
  if (body.jsonrpc !== "2.0" || !/^Invalid (Host|Origin)\b/.test(message)) return;
  c.res = c.json({ ...body, error: { ...body.error, message: `${message}: ${HOST_ADVICE}` } }, 403);
};
