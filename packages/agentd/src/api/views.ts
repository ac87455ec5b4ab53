import type { JournalEntry, RunInfo } from "@agentd/kernel";
import type { Agentd } from "../app.ts";
import { AgentdError } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { createRedactor, type Redactor } from "../vault/redact.ts";

/** Strips every vault value of the tenant from what a response shows. */
export async function redactorFor(app: Agentd, scope: TenantScope): Promise<Redactor> {
  return createRedactor(await app.vault.values(scope));
}

/** A run as the API shows it: no lease internals, values redacted. */
export function runView(r: RunInfo, redact: Redactor) {
  return redact.deep({
    id: r.id,
    workflow: r.workflow,
    status: r.status,
    key: r.key,
    input: r.input,
    output: r.output,
    error: r.error,
    parentId: r.parentId,
    waiting: r.waiting,
    wakeAt: r.wakeAt,
    queued: r.queued,
    generation: r.generation,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    completedAt: r.completedAt,
  });
}

export function journalView(entries: JournalEntry[], redact: Redactor) {
  return entries.map((e) => redact.deep({ ...e }));
}

/** The tenant's run, or 404: another tenant's run answers exactly like a missing one. */
export async function tenantRun(app: Agentd, tenantId: string, runId: string): Promise<RunInfo> {
  const run = await app.kernel.getRun(runId);
  if (!run || run.namespace !== tenantId)
    throw new AgentdError("not_found", `run ${runId} not found; GET /v1/runs lists this tenant's runs`);
  return run;
}
