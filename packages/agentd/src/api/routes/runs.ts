import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { cancelRun } from "../../agent/approvals.ts";
import { badRequest } from "../../errors.ts";
import { queryOf, readQuery } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";
import { runEvents } from "../sse.ts";
import { journalView, redactorFor, runView, tenantRun } from "../views.ts";

const STATUS = ["pending", "running", "suspended", "completed", "failed", "cancelled"] as const;
export const ListRuns = z.object({
  /** One status or several, comma-separated. */
  status: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (!s) return undefined;
      const list = s.split(",").map((x) => x.trim());
      const bad = list.find((x) => !(STATUS as readonly string[]).includes(x));
      if (bad !== undefined) {
        ctx.addIssue({ code: "custom", message: `unknown status "${bad.slice(0, 40)}"; use ${STATUS.join(", ")}` });
        return z.NEVER;
      }
      return list as (typeof STATUS)[number][];
    }),
  workflow: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** Runs created before this time (epoch ms): the createdAt of the last run of the previous page. */
  before: z.coerce.number().int().min(0).optional(),
  /** The next page: the `next` of the previous answer (keyset: no run skipped or repeated). */
  cursor: z
    .string()
    .max(200)
    .regex(/^\d{1,16}:[\w-]{1,150}$/, "a cursor is the `next` of a previous answer, as it was given")
    .optional(),
  /** Runs created at or after this time (epoch ms). */
  since: z.coerce.number().int().min(0).optional(),
  /** Runs started with this idempotency key. */
  key: z.string().min(1).max(200).optional(),
});
export const From = z.object({ from: z.coerce.number().int().min(1).optional() });

/** Runs of the tenant (namespace = tenant id): list, inspect, journal, retry, cancel, stream. */
export function runRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/runs", queryOf(ListRuns), async (c) => {
      const q = c.req.valid("query");
      const [at, id] = q.cursor ? (q.cursor.split(":") as [string, string]) : [];
      const filter = {
        namespace: c.get("tenantId"),
        limit: q.limit,
        ...(q.status ? { status: q.status } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
        ...(at !== undefined
          ? { before: Number(at), beforeId: id }
          : q.before !== undefined
            ? { before: q.before }
            : {}),
      };
      // A key is unique per workflow and indexed so: it is looked up in each of agentd's workflows
      // (or the one named), one index probe each, rather than by reading the tenant's every run.
      const runs = q.key
        ? (
            await Promise.all(
              (q.workflow ? [q.workflow] : app.kernel.registry.names()).map((workflow) =>
                app.kernel.listRuns({ ...filter, workflow, key: q.key }),
              ),
            )
          )
            .flat()
            .sort((a, b) => b.createdAt - a.createdAt || (b.id < a.id ? -1 : 1))
            .slice(0, q.limit)
        : await app.kernel.listRuns({ ...filter, ...(q.workflow ? { workflow: q.workflow } : {}) });
      const redact = await redactorFor(app, scopeOf(app, c));
      const last = runs.length === q.limit ? runs.at(-1) : undefined;
      return c.json({ runs: runs.map((x) => runView(x, redact)), next: last ? `${last.createdAt}:${last.id}` : null });
    })
    .get("/runs/:id", async (c) => {
      const run = await tenantRun(app, c.get("tenantId"), c.req.param("id"));
      return c.json(runView(run, await redactorFor(app, scopeOf(app, c))));
    })
    .get("/runs/:id/journal", async (c) => {
      const run = await tenantRun(app, c.get("tenantId"), c.req.param("id"));
      const journal = await app.kernel.journal(run.id);
      return c.json({ runId: run.id, journal: journalView(journal, await redactorFor(app, scopeOf(app, c))) });
    })
    .post("/runs/:id/retry", async (c) => {
      const run = await tenantRun(app, c.get("tenantId"), c.req.param("id"));
      await app.kernel.retry(run.id);
      return c.json(runView((await app.kernel.getRun(run.id)) ?? run, await redactorFor(app, scopeOf(app, c))), 202);
    })
    .post("/runs/:id/cancel", async (c) => {
      const run = await tenantRun(app, c.get("tenantId"), c.req.param("id"));
      return c.json({ cancelled: await cancelRun(app.kernel, scopeOf(app, c), run.id, app.kernel.clock.now()) });
    })
    .get("/runs/:id/stream", async (c) => {
      const run = await tenantRun(app, c.get("tenantId"), c.req.param("id"));
      const q = readQuery(c, From);
      const last = c.req.header("last-event-id");
      let from = q.from ?? 1;
      if (q.from === undefined && last !== undefined) {
        if (!/^\d+$/.test(last.trim()))
          throw badRequest("Last-Event-ID must be the id of an event received from this stream (a whole number)");
        from = Number(last) + 1;
      }
      return runEvents(app, {
        runId: run.id,
        from,
        signal: c.req.raw.signal,
        redact: await redactorFor(app, scopeOf(app, c)),
      });
    });
}
