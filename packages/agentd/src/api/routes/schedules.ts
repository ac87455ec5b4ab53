import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { isTimeZone } from "../../config/variables.ts";
import { sessions } from "../../sessions/store.ts";
import { badRequest, notFound } from "../../errors.ts";
import { jsonBody, queryOf } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";

const EXAMPLE_AT = "2026-05-01T09:00:00Z (UTC) or 2026-05-01T09:00:00+02:00";

/** An ISO 8601 time with its UTC offset; one without gets an error that says so rather than a guessed zone. */
export const At = z
  .string()
  .max(40)
  .superRefine((s, ctx) => {
    if (z.iso.datetime({ offset: true }).safeParse(s).success) return;
    const local = z.iso.datetime({ local: true }).safeParse(s).success;
    ctx.addIssue({
      code: "custom",
      message: local
        ? `"${s}" has no UTC offset: add one (Z for UTC, or +02:00 and the like), e.g. ${EXAMPLE_AT}`
        : `it must be an ISO 8601 time with its UTC offset, e.g. ${EXAMPLE_AT}`,
    });
  });

export const CreateSchedule = z.strictObject({
  prompt: z.string().min(1).max(2000),
  /** Recurring: a 5-field cron expression (or 6 with seconds) in `timezone` (default: the tenant's). */
  cron: z.string().min(1).max(120).optional(),
  timezone: z
    .string()
    .min(1)
    .max(64)
    .refine(isTimeZone, "it must be an IANA time zone such as Europe/Paris or UTC")
    .optional(),
  /** One-off: an ISO 8601 time with its offset (2026-05-01T09:00:00Z). */
  at: At.optional(),
  /** The session the result goes to (default: the tenant's home or latest session). */
  sessionId: z.string().min(1).max(100).optional(),
});

export const Ticks = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

/** Reminders and recurring jobs of the tenant, with the next fire times of recurring ones. */
export function scheduleRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/schedules", async (c) => {
      const jobs = await app.jobs.list(scopeOf(app, c));
      const schedules = await Promise.all(
        jobs.map(async (j) => {
          if (j.kind !== "recurring") return { ...j, paused: false, next: j.at === null ? [] : [j.at] };
          const info = await app.kernel.schedules.get(`job:${j.id}`).catch(() => null);
          return { ...j, paused: info?.paused ?? false, next: info?.nextFireTimes ?? [] };
        }),
      );
      return c.json({ schedules });
    })
    .post("/schedules", jsonBody(CreateSchedule), async (c) => {
      const body = c.req.valid("json");
      const scope = scopeOf(app, c);
      if ((body.cron === undefined) === (body.at === undefined))
        throw badRequest(
          'give either "cron" (a recurring job, with an optional "timezone") or "at" (a one-off reminder), not both',
        );
      if (body.sessionId !== undefined) await sessions.require(scope, body.sessionId);
      const sessionId = body.sessionId ?? null;
      if (body.at !== undefined) {
        if (body.timezone !== undefined) throw badRequest('"timezone" goes with "cron"; "at" carries its own offset');
        const at = Date.parse(body.at);
        if (at <= app.kernel.clock.now()) throw badRequest(`"at" (${body.at}) is in the past; give a future time`);
        const job = await app.jobs.remind(scope, { prompt: body.prompt, at, sessionId });
        return c.json(
          { id: job.id, kind: "reminder", prompt: body.prompt, at: job.at, cron: null, timezone: null, next: [job.at] },
          201,
        );
      }
      const tenant = await app.tenants.require(scope.tenantId);
      const timezone = body.timezone ?? tenant.settings.timezone;
      const job = await app.jobs.recur(scope, { prompt: body.prompt, cron: body.cron as string, timezone, sessionId });
      return c.json(
        { id: job.id, kind: "recurring", prompt: body.prompt, at: null, cron: body.cron, timezone, next: job.next },
        201,
      );
    })
    .post("/schedules/:id/pause", async (c) => {
      if (!(await app.jobs.setPaused(scopeOf(app, c), c.req.param("id"), true)))
        throw notFound(`recurring job ${c.req.param("id")}`);
      return c.json({ paused: true });
    })
    .post("/schedules/:id/resume", async (c) => {
      if (!(await app.jobs.setPaused(scopeOf(app, c), c.req.param("id"), false)))
        throw notFound(`recurring job ${c.req.param("id")}`);
      return c.json({ paused: false });
    })
    .get("/schedules/:id/ticks", queryOf(Ticks), async (c) => {
      const ticks = await app.jobs.ticks(scopeOf(app, c), c.req.param("id"), c.req.valid("query").limit);
      if (!ticks) throw notFound(`recurring job ${c.req.param("id")}`);
      return c.json({ ticks });
    })
    .delete("/schedules/:id", async (c) => {
      if (!(await app.jobs.cancel(scopeOf(app, c), c.req.param("id")))) throw notFound(`schedule ${c.req.param("id")}`);
      return c.body(null, 204);
    });
}
