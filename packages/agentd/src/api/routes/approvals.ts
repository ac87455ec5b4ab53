import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { type Approval, approvals } from "../../agent/approvals.ts";
import type { Redactor } from "../../vault/redact.ts";
import { jsonBody, queryOf } from "../body.ts";
import { actor, type TenantEnv, scopeOf } from "../env.ts";
import { redactorFor } from "../views.ts";

export const ListApprovals = z.object({
  status: z.enum(["pending", "approved", "denied", "expired", "cancelled", "all"]).default("pending"),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const Decide = z.strictObject({ decision: z.enum(["once", "always", "deny"]) });

const view = (a: Approval, redact: Redactor) => ({ ...a, subject: redact.text(a.subject) });

/** Tool calls waiting for a person, and the decision that wakes their run. */
export function approvalRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/approvals", queryOf(ListApprovals), async (c) => {
      const q = c.req.valid("query");
      const scope = scopeOf(app, c);
      const list = await approvals.list(scope, q.status === "all" ? null : q.status, q.limit);
      const redact = await redactorFor(app, scope);
      return c.json({ approvals: list.map((a) => view(a, redact)) });
    })
    .post("/approvals/:id", jsonBody(Decide), async (c) => {
      const body = c.req.valid("json");
      const scope = scopeOf(app, c);
      const id = c.req.param("id");
      // The approval id is the event id: of two racing decisions only the first reaches the run (the other gets 409).
      const decided = await approvals.decide(scope, id, body.decision, actor(c), app.kernel.clock.now(), app.kernel);
      return c.json(view(decided, await redactorFor(app, scope)));
    });
}
