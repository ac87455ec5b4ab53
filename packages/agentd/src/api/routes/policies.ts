import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { policies } from "../../agent/policy.ts";
import { badRequest, notFound } from "../../errors.ts";
import { jsonBody, queryOf } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";

export const PutPolicy = z.strictObject({
  /** One tool's name, or a prefix ending in `*` (`mcp__github__*`: every tool of that server). */
  tool: z.string().min(1).max(100),
  /** A glob over the call's subject (`*` any run of characters); empty or absent: every call of the tool. */
  pattern: z.string().max(500).optional(),
  decision: z.enum(["allow", "ask", "deny"]),
});
export const Pattern = z.object({ pattern: z.string().max(500).default("") });

/** Allow / ask / deny per tool and subject pattern (GET also lists the tools and their defaults). */
export function policyRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/policies", async (c) => {
      const tools = app.tools
        .list(null)
        .map((t) => ({ name: t.name, risk: t.risk, defaultDecision: t.defaultDecision }));
      return c.json({ policies: await policies.list(scopeOf(app, c)), tools });
    })
    .put("/policies", jsonBody(PutPolicy), async (c) => {
      const body = c.req.valid("json");
      const prefix = body.tool.endsWith("*") ? body.tool.slice(0, -1) : null;
      if (prefix !== null && !prefix.includes("*") && prefix !== "" && !app.tools.knowsPrefix(prefix))
        throw badRequest(
          `no tool's name starts with "${prefix.slice(0, 100)}": a prefix rule covers a server's or a source's tools (mcp__<server>__*) or built-ins (ssh*)`,
        );
      // A * elsewhere is refused by the rule's own check, which says what a rule's tool may be.
      if (!body.tool.includes("*") && !app.tools.knows(body.tool))
        throw badRequest(
          `there is no tool named "${body.tool.slice(0, 100)}"; the tools are ${app.tools
            .list(null)
            .map((t) => t.name)
            .join(", ")}`,
        );
      return c.json(await policies.set(scopeOf(app, c), body, app.kernel.clock.now()));
    })
    .delete("/policies/:tool", queryOf(Pattern), async (c) => {
      const q = c.req.valid("query");
      const tool = c.req.param("tool");
      if (!(await policies.remove(scopeOf(app, c), tool, q.pattern)))
        throw notFound(`policy for ${tool}${q.pattern ? ` matching "${q.pattern}"` : ""}`);
      return c.body(null, 204);
    });
}
