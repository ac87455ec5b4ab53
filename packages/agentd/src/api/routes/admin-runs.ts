import type { RunInfo } from "@agentd/kernel";
import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { createRedactor, type Redactor } from "../../vault/redact.ts";
import { queryOf } from "../body.ts";
import type { ApiEnv } from "../env.ts";
import { redactorFor } from "../views.ts";
import { ListRuns } from "./runs.ts";

export const ListAllRuns = ListRuns.omit({ key: true, before: true }).extend({
  /** Only this tenant's runs. */
  tenant: z.string().min(1).max(200).optional(),
  /** The run with this id, whichever tenant's it is (none when there is no such run). */
  id: z
    .string()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "a run id is a UUID, as the API gives it")
    .optional(),
});

/**
 * The operator's runs list across every tenant, newest first, paged by the same keyset cursor as a
 * tenant's (created_at, id): the store reads one index range per page whatever the number of runs.
 * A row says whose run it is; its input and output stay on the tenant's own run page, and its
 * error is redacted with the secrets of the tenant it belongs to.
 */
export function adminRunRoutes(app: Agentd) {
  return new Hono<ApiEnv>().get("/admin/runs", queryOf(ListAllRuns), async (c) => {
    const q = c.req.valid("query");
    const [at, id] = q.cursor ? (q.cursor.split(":") as [string, string]) : [];
    const byId = async (id: string) => {
      const run = await app.kernel.getRun(id);
      return run ? [run] : [];
    };
    const runs =
      q.id !== undefined
        ? await byId(q.id)
        : await app.kernel.listRuns({
            limit: q.limit,
            ...(q.tenant ? { namespace: q.tenant } : {}),
            ...(q.status ? { status: q.status } : {}),
            ...(q.workflow ? { workflow: q.workflow } : {}),
            ...(q.since !== undefined ? { since: q.since } : {}),
            ...(at !== undefined ? { before: Number(at), beforeId: id } : {}),
          });
    const redactors = new Map<string, Redactor>();
    const none = createRedactor([]);
    for (const ns of new Set(runs.map((r) => r.namespace))) {
      if (!ns || !(await app.tenants.get(ns))) continue;
      redactors.set(ns, await redactorFor(app, app.tenants.scope(ns)));
    }
    const last = runs.length === q.limit ? runs.at(-1) : undefined;
    return c.json({
      runs: runs.map((r) => row(r, (r.namespace && redactors.get(r.namespace)) || none)),
      next: last ? `${last.createdAt}:${last.id}` : null,
    });
  });
}

const row = (r: RunInfo, redact: Redactor) =>
  redact.deep({
    id: r.id,
    tenantId: r.namespace ?? null,
    workflow: r.workflow,
    status: r.status,
    key: r.key,
    error: r.error,
    parentId: r.parentId,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    completedAt: r.completedAt,
  });
