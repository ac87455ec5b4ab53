import { createHash } from "node:crypto";
import type { Kernel } from "@agentd/kernel";
import { newId } from "../ids.ts";
import { badRequest } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { TenantSettings } from "../tenancy/settings.ts";
import type { JobsApi } from "../tools/types.ts";
import { type JobInput, JOB_WORKFLOWS } from "./workflows.ts";

interface JobRow {
  id: string;
  kind: string;
  prompt: string;
  at: number | null;
  cron: string | null;
  timezone: string | null;
  ref: string | null;
  status: string;
}

const scheduleId = (jobId: string) => `job:${jobId}`;
/**
 * A job's id: from its key when it has one (a tool call's `<run>:<call>`), so a step run again after
 * its process died finds the job it made rather than making a second; otherwise random.
 */
const jobId = (tenantId: string, key: string | undefined) =>
  key === undefined
    ? newId("job")
    : `job_k${createHash("sha256").update(`${tenantId}\0${key}`).digest("hex").slice(0, 24)}`;
export const heartbeatScheduleId = (tenantId: string) => `heartbeat:${tenantId}`;

/** Reminders (a run asleep until its time) and recurring jobs (kernel schedules) of a tenant, listed in os_jobs. */
export class Jobs implements JobsApi {
  readonly #kernel: Kernel;

  constructor(kernel: Kernel) {
    this.#kernel = kernel;
  }

  async remind(
    scope: TenantScope,
    job: { prompt: string; at: number; sessionId: string | null; key?: string },
  ): Promise<{ id: string; at: number }> {
    if (!Number.isFinite(job.at)) throw badRequest("a reminder needs a valid time");
    const id = jobId(scope.tenantId, job.key);
    // Made again with the same key: the row is kept, and the kernel returns the run its key names.
    await scope.run(
      "INSERT INTO os_jobs (id, tenant_id, kind, prompt, session_id, at, status, created_at) VALUES (?, $tenant, 'reminder', ?, ?, ?, 'active', ?) ON CONFLICT (id) DO NOTHING",
      [id, job.prompt, job.sessionId, job.at, Date.now()],
    );
    const run = await this.#kernel.start<JobInput & { at: number }, unknown>(
      JOB_WORKFLOWS.reminder,
      { tenantId: scope.tenantId, jobId: id, at: job.at },
      { key: `job:${id}`, namespace: scope.tenantId },
    );
    await scope.run("UPDATE os_jobs SET ref = ? WHERE tenant_id = $tenant AND id = ?", [run.id, id]);
    return { id, at: job.at };
  }

  async recur(
    scope: TenantScope,
    job: { prompt: string; cron: string; timezone: string; sessionId: string | null; key?: string },
  ): Promise<{ id: string; next: number[] }> {
    const id = jobId(scope.tenantId, job.key);
    // Made again with the same key: the schedule made the first time is kept.
    const made = job.key === undefined ? null : await this.#kernel.schedules.get(scheduleId(id)).catch(() => null);
    // The schedule first: a bad cron expression or zone is refused before anything is stored.
    const info =
      made ??
      (await this.#kernel.schedules.create({
        id: scheduleId(id),
        workflow: JOB_WORKFLOWS.recurring,
        cron: job.cron,
        timezone: job.timezone,
        input: { tenantId: scope.tenantId, jobId: id },
        namespace: scope.tenantId,
        overlap: "skip",
        catchUp: "latest",
      }));
    await scope.run(
      "INSERT INTO os_jobs (id, tenant_id, kind, prompt, session_id, cron, timezone, ref, status, created_at) VALUES (?, $tenant, 'recurring', ?, ?, ?, ?, ?, 'active', ?) ON CONFLICT (id) DO NOTHING",
      [id, job.prompt, job.sessionId, job.cron, job.timezone, info.id, Date.now()],
    );
    return { id, next: info.nextFireTimes };
  }

  async list(scope: TenantScope) {
    const rows = await scope.all<JobRow>(
      "SELECT * FROM os_jobs WHERE tenant_id = $tenant AND status = 'active' ORDER BY created_at",
    );
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      prompt: r.prompt,
      at: r.at === null ? null : Number(r.at),
      cron: r.cron,
      timezone: r.timezone,
    }));
  }

  async cancel(scope: TenantScope, id: string): Promise<boolean> {
    const job = await scope.get<JobRow>(
      "SELECT * FROM os_jobs WHERE tenant_id = $tenant AND id = ? AND status = 'active'",
      [id],
    );
    if (!job) return false;
    await scope.run("UPDATE os_jobs SET status = 'cancelled' WHERE tenant_id = $tenant AND id = ?", [id]);
    if (job.kind === "recurring") await this.#kernel.schedules.delete(scheduleId(id)).catch(() => {});
    else if (job.ref) await this.#kernel.cancel(job.ref).catch(() => {});
    return true;
  }

  /** Pauses or resumes a recurring job (ticks that fall in a pause are recorded as skipped, with why); false: none such. */
  async setPaused(scope: TenantScope, id: string, paused: boolean): Promise<boolean> {
    const job = await this.#recurring(scope, id);
    if (!job) return false;
    await (paused ? this.#kernel.schedules.pause(scheduleId(id)) : this.#kernel.schedules.resume(scheduleId(id)));
    return true;
  }

  /** A recurring job's latest ticks, newest first: started, queued or skipped (with the reason); null: no such job. */
  async ticks(scope: TenantScope, id: string, limit: number) {
    if (!(await this.#recurring(scope, id))) return null;
    return this.#kernel.schedules.ticks(scheduleId(id), limit);
  }

  async #recurring(scope: TenantScope, id: string): Promise<JobRow | undefined> {
    return scope.get<JobRow>(
      "SELECT * FROM os_jobs WHERE tenant_id = $tenant AND id = ? AND status = 'active' AND kind = 'recurring'",
      [id],
    );
  }

  /** Creates, changes or removes the tenant's heartbeat schedule to match its settings. */
  async syncHeartbeat(tenantId: string, s: TenantSettings): Promise<void> {
    const k = this.#kernel;
    const id = heartbeatScheduleId(tenantId);
    const existing = await k.schedules.get(id).catch(() => null);
    if (!s.heartbeat) {
      if (existing) await k.schedules.delete(id);
      return;
    }
    if (existing) {
      if (existing.cron !== s.heartbeat || existing.timezone !== s.timezone)
        await k.schedules.update(id, { cron: s.heartbeat, timezone: s.timezone });
      return;
    }
    await k.schedules.create({
      id,
      workflow: JOB_WORKFLOWS.heartbeat,
      cron: s.heartbeat,
      timezone: s.timezone,
      input: { tenantId },
      namespace: tenantId,
      overlap: "skip",
      catchUp: "latest",
    });
  }
}
