import { workflow } from "@agentd/kernel";
import type { Db } from "../db/index.ts";
import type { MemoryStore } from "../memory/store.ts";
import type { Inbox } from "../sessions/inbox.ts";
import type { Tenants } from "../tenancy/tenants.ts";
import { DueCheck } from "./due-check.ts";

/** The job workflows' names: Jobs starts and schedules them by name, so it is made before them (they need the inbox, which needs the turn, which needs Jobs). */
export const JOB_WORKFLOWS = {
  reminder: "agent.reminder",
  recurring: "agent.recurring",
  heartbeat: "agent.heartbeat",
} as const;

export interface JobInput {
  tenantId: string;
  jobId: string;
}

interface JobRow {
  id: string;
  kind: string;
  prompt: string;
  session_id: string | null;
  at: number | null;
  status: string;
}

/** Background life (DESIGN §2.7): reminders, recurring jobs and the heartbeat start turns; the heartbeat alone never calls a model. */
export function jobWorkflows(deps: {
  tenants: Tenants;
  inbox: Pick<Inbox, "background">;
  memory: MemoryStore;
  /** For the heartbeats' shared due check (DueCheck). */
  db: Db;
  now: () => number;
}) {
  const dueCheck = new DueCheck(deps.db, deps.now);
  const fire = async (tenantId: string, jobId: string, tick: string) => {
    const scope = deps.tenants.scope(tenantId);
    const job = await scope.get<JobRow>("SELECT * FROM os_jobs WHERE tenant_id = $tenant AND id = ?", [jobId]);
    if (job?.status !== "active") return { fired: false };
    const label = job.kind === "reminder" ? "a reminder the user set" : "a recurring job the user set";
    const r = await deps.inbox.background({
      tenantId,
      sessionId: job.session_id,
      prompt: job.prompt,
      sourceKey: `job:${jobId}:${tick}`,
      label,
    });
    if (job.kind === "reminder")
      await scope.run("UPDATE os_jobs SET status = 'done' WHERE tenant_id = $tenant AND id = ?", [jobId]);
    return { fired: true, runId: r.runId };
  };

  const reminder = workflow<JobInput & { at: number }, { fired: boolean; runId?: string }>(
    JOB_WORKFLOWS.reminder,
    async (ctx, input) => {
      await ctx.sleepUntil("due", input.at);
      return ctx.step("fire", () => fire(input.tenantId, input.jobId, String(input.at)));
    },
  );

  const recurring = workflow<JobInput, { fired: boolean; runId?: string }>(
    JOB_WORKFLOWS.recurring,
    async (ctx, input) => {
      return ctx.step("fire", (step) => fire(input.tenantId, input.jobId, step.runId));
    },
  );

  /**
   * Cheap by design: a yes or no shared with the other heartbeats of the moment (DueCheck); the notes
   * are read, and a model called, only when something is due.
   */
  const heartbeat = workflow<{ tenantId: string }, { due: number; runId?: string }>(
    JOB_WORKFLOWS.heartbeat,
    async (ctx, input) => {
      return ctx.step("check", async (step) => {
        if (!(await dueCheck.has(input.tenantId))) return { due: 0 };
        const scope = deps.tenants.scope(input.tenantId);
        const due = await deps.memory.due(scope, deps.now());
        if (due.length === 0) return { due: 0 };
        const prompt = `These notes are due now:\n${due.map((d) => `- ${d.content}`).join("\n")}\nTell the user what needs attention.`;
        const r = await deps.inbox.background({
          tenantId: input.tenantId,
          sessionId: null,
          prompt,
          sourceKey: `heartbeat:${step.runId}`,
          label: "the heartbeat (items became due)",
        });
        await deps.memory.markDone(
          scope,
          due.map((d) => d.id),
          deps.now(),
        );
        return { due: due.length, runId: r.runId };
      });
    },
  );

  return { reminder, recurring, heartbeat };
}
