import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { queryOf } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";

export const Days = z.object({ days: z.coerce.number().int().min(1).max(366).default(30) });

/** Tokens and model calls per UTC day, and what is left of today's budget. */
export function usageRoutes(app: Agentd) {
  return new Hono<TenantEnv>().get("/usage", queryOf(Days), async (c) => {
    const q = c.req.valid("query");
    const scope = scopeOf(app, c);
    const tenant = await app.tenants.require(scope.tenantId);
    const rows = await scope.all<{ day: string; tokens: number; model_calls: number }>(
      "SELECT day, tokens, model_calls FROM os_usage WHERE tenant_id = $tenant ORDER BY day DESC LIMIT ?",
      [q.days],
    );
    const days = rows.map((d) => ({ day: d.day, tokens: Number(d.tokens), modelCalls: Number(d.model_calls) }));
    const today = new Date(app.kernel.clock.now()).toISOString().slice(0, 10);
    const now = days.find((d) => d.day === today) ?? { day: today, tokens: 0, modelCalls: 0 };
    const budget = tenant.settings.dailyTokenBudget;
    return c.json({
      today: now,
      dailyTokenBudget: budget,
      remainingToday: budget > 0 ? Math.max(0, budget - now.tokens) : null,
      days,
    });
  });
}
