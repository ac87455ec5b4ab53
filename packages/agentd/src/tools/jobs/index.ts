import { z } from "zod";
import type { Tool } from "../types.ts";

/** A time the model wrote: ISO 8601 with an offset, or a local date-time read in the tenant's zone. */
export function parseWhen(text: string, timezone: string): number {
  if (/[zZ]|[+-]\d\d:?\d\d$/.test(text)) return Date.parse(text);
  const m = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d))?$/.exec(text.trim());
  if (!m) return NaN;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  // The zone's offset at that moment: format the UTC guess in the zone and measure the difference.
  const local = new Date(guess).toLocaleString("sv-SE", { timeZone: timezone, hour12: false }).replace(" ", "T");
  const offset = Date.parse(`${local}Z`) - guess;
  return Number.isFinite(offset) ? guess - offset : NaN;
}

const remind: Tool<{ prompt: string; at: string }> = {
  name: "remind",
  description: "Set a one-off reminder; at = local date-time (YYYY-MM-DDTHH:MM) or ISO with offset.",
  input: z.object({ prompt: z.string().min(1).max(2000), at: z.string().min(10).max(40) }),
  risk: "low",
  defaultDecision: "allow",
  subject: (a) => `${a.at}: ${a.prompt}`,
  async run(a, ctx) {
    const at = parseWhen(a.at, ctx.timezone);
    if (!Number.isFinite(at)) throw new Error(`cannot read the time "${a.at}"; use YYYY-MM-DDTHH:MM`);
    if (at < ctx.now - 60_000) throw new Error(`${a.at} is in the past`);
    const r = await ctx.services.jobs.remind(ctx.tenant, {
      prompt: a.prompt,
      at,
      sessionId: ctx.sessionId,
      key: `${ctx.runId}:${ctx.callId}`,
    });
    return { id: r.id, at: new Date(r.at).toISOString() };
  },
};

const schedule: Tool<{ prompt: string; cron: string }> = {
  name: "schedule",
  description: "Create a recurring job (5-field cron, user's time zone) that runs the prompt.",
  input: z.object({ prompt: z.string().min(1).max(2000), cron: z.string().min(9).max(100) }),
  risk: "low",
  defaultDecision: "allow",
  subject: (a) => `${a.cron}: ${a.prompt}`,
  async run(a, ctx) {
    const r = await ctx.services.jobs.recur(ctx.tenant, {
      prompt: a.prompt,
      cron: a.cron,
      timezone: ctx.timezone,
      sessionId: ctx.sessionId,
      key: `${ctx.runId}:${ctx.callId}`,
    });
    return { id: r.id, next: r.next.slice(0, 3).map((t) => new Date(t).toISOString()) };
  },
};

const jobs: Tool<{ cancel?: string }> = {
  name: "jobs",
  description: "List reminders and recurring jobs, or cancel one by id.",
  input: z.object({ cancel: z.string().max(64).optional() }),
  risk: "low",
  defaultDecision: "allow",
  async run(a, ctx) {
    if (a.cancel)
      return (await ctx.services.jobs.cancel(ctx.tenant, a.cancel))
        ? `cancelled ${a.cancel}`
        : `no active job ${a.cancel}`;
    return ctx.services.jobs.list(ctx.tenant);
  },
};

export const jobTools: Tool[] = [remind, schedule, jobs];
