import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { notFound } from "../../errors.ts";
import { McpServerDef } from "../../mcp/definition.ts";
import { McpError } from "../../mcp/errors.ts";
import { sourcedToolName } from "../../tools/sources/names.ts";
import { jsonBody } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";

export const AddMcpServer = McpServerDef;
export const PatchMcpServer = z.strictObject({ enabled: z.boolean() });

/**
 * A tenant's MCP servers (a client sees definitions only: secrets are named, never read here): its own (added, turned on or off, removed here) and the operator's for
 * every tenant (listed, tested). `test` connects and lists the tools the agent would be offered.
 */
export function mcpServerRoutes(app: Agentd) {
  const { servers, pool, source } = app.mcp;
  return new Hono<TenantEnv>()
    .get("/mcp/servers", async (c) => c.json({ servers: await servers.list(scopeOf(app, c)) }))
    .post("/mcp/servers", jsonBody(AddMcpServer), async (c) => {
      const added = await servers.add(scopeOf(app, c), c.req.valid("json"));
      return c.json(added, 201);
    })
    .patch("/mcp/servers/:name", jsonBody(PatchMcpServer), async (c) => {
      const scope = scopeOf(app, c);
      const changed = await servers.setEnabled(scope, c.req.param("name"), c.req.valid("json").enabled);
      await pool.closeFor(scope.tenantId, changed.name);
      return c.json(changed);
    })
    .delete("/mcp/servers/:name", async (c) => {
      const scope = scopeOf(app, c);
      await servers.remove(scope, c.req.param("name"));
      await pool.closeFor(scope.tenantId, c.req.param("name"));
      return c.body(null, 204);
    })
    .post("/mcp/servers/:name/test", async (c) => {
      const scope = scopeOf(app, c);
      const server = await servers.get(scope, c.req.param("name"));
      if (!server) throw notFound(`MCP server "${c.req.param("name")}"`);
      try {
        const tools = await source.listServer(scope, server);
        return c.json({
          ok: true as const,
          tools: tools.map((t) => ({
            name: t.name,
            offeredAs: sourcedToolName({ source: source.id, server: server.name, tool: t.name }),
            description: t.description,
          })),
        });
      } catch (e) {
        if (!McpError.is(e)) throw e;
        return c.json({ ok: false as const, code: e.code, error: e.message });
      }
    });
}
