import type { Kernel } from "@agentd/kernel";
import type { Tenants } from "./tenants.ts";

const ACTIVE = ["pending", "running", "suspended"] as const;

/** How far deleting a tenant has come: its schedules removed, its unfinished runs cancelled. */
export interface DeleteProgress {
  stage: "schedules" | "runs";
  done: number;
  total: number;
}

/**
 * Deletes a tenant and its data. Its schedules and unfinished runs go first, so nothing runs on for
 * a tenant whose data is gone; a schedule or run that ended meanwhile is passed over. A tenant that
 * does not exist is a not_found error before anything is touched.
 */
export async function deleteTenant(
  deps: { kernel: Kernel; tenants: Tenants },
  id: string,
  onProgress: (p: DeleteProgress) => void = () => {},
): Promise<void> {
  const tenant = await deps.tenants.require(id);
  const schedules = await deps.kernel.schedules.list({ namespace: tenant.id });
  for (const [i, s] of schedules.entries()) {
    await deps.kernel.schedules.delete(s.id).catch(() => {});
    onProgress({ stage: "schedules", done: i + 1, total: schedules.length });
  }
  const runs = await deps.kernel.listRuns({ namespace: tenant.id, status: [...ACTIVE], limit: 100_000 });
  for (const [i, run] of runs.entries()) {
    await deps.kernel.cancel(run.id).catch(() => {});
    onProgress({ stage: "runs", done: i + 1, total: runs.length });
  }
  await deps.tenants.delete(tenant.id);
}
