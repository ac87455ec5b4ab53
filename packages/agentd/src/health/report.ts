import { NO_MODEL_HINT } from "../agent/model.ts";
import type { Agentd } from "../app.ts";
import type { ComponentState } from "./checks.ts";

export type HealthStatus = "up" | "degraded" | "down";

/** What /health shows the operator. */
export interface HealthReport {
  status: HealthStatus;
  /** Why it is not "up", each with what to do. */
  reasons: string[];
  store: string;
  model: string;
  /** Workers that renewed their heartbeat lately (any process on this store), and runs due now. */
  workers: { live: number; inThisProcess: boolean };
  runsDue: number;
  components: ({ name: string } & ComponentState)[];
}

/** A worker renews its heartbeat every third of a lease: three leases without one and it is gone. */
export const liveWindowMs = (leaseMs: number) => 3 * leaseMs;

const NO_WORKER =
  "no worker is running on this store, so messages are accepted but not answered: start `agentd worker` (or `agentd start`) with the same database";

/** The state of agentd as the operator sees it: down when its store does not answer, degraded when work waits for nobody or a component fails. */
export async function healthReport(app: Agentd): Promise<HealthReport> {
  const reasons: string[] = [];
  const model =
    app.models?.describe ?? (app.executesRuns ? NO_MODEL_HINT : "the workers' (this process executes no runs)");
  const base = {
    store: app.store.kind,
    model,
    workers: { live: 0, inThisProcess: app.executesRuns },
    runsDue: 0,
    components: await app.health.states(),
  };
  try {
    await app.db.get("SELECT 1 AS ok");
    // Only the due runs (by index): /health is asked often, and counting runs by status reads them all.
    base.runsDue = (await app.store.countRuns(app.kernel.clock.now(), { byStatus: false })).due;
    base.workers.live = (await app.kernel.workers(liveWindowMs(app.config.leaseMs))).length;
  } catch {
    return {
      status: "down",
      reasons: ["the database does not answer: check that it runs and that DATABASE_URL (or the data folder) is right"],
      ...base,
    };
  }
  if (base.workers.live === 0 && base.runsDue > 0) reasons.push(`${base.runsDue} run(s) are due and ${NO_WORKER}`);
  for (const c of base.components) if (!c.ok) reasons.push(`${c.name}: ${c.detail}`);
  return { status: reasons.length > 0 ? "degraded" : "up", reasons, ...base };
}

/** Why a run of `workflow` waits with no one to execute it, or null when a live worker serves it. */
export async function noWorkerFor(app: Agentd, workflow: string): Promise<string | null> {
  const live = await app.kernel.workers(liveWindowMs(app.config.leaseMs));
  return live.some((w) => workflow in w.workflows) ? null : NO_WORKER;
}
