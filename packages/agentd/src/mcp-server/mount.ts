import type { Handler, Hono } from "hono";
import type { Agentd } from "../app.ts";
import type { McpServerAppOptions } from "./api.ts";

/** Where agentd serves MCP. Here, not in api.ts, which loads the typed client (hono/client): a start needs only the path. */
export const MCP_PATH = "/mcp";

/**
 * The handler to mount at MCP_PATH: the MCP server's app, with the SDK, is imported on the first
 * request rather than with agentd (loading the SDK took seconds of every start on a loaded machine).
 */
export function mcpRoute(app: Agentd, o: McpServerAppOptions): Handler {
  let served: Promise<Hono> | null = null;
  return async (c) => {
    if (!served) app.warm(); // before importing modules the tools or the turn may share (Agentd.warm)
    served ??= import("./index.ts").then(
      (m) => m.mcpServerApp(app, o),
      (e: unknown) => {
        served = null;
        throw e;
      },
    );
    // The connection's details (c.env) go along: the token throttle reads the client's address from them.
    return (await served).fetch(c.req.raw, c.env);
  };
}
