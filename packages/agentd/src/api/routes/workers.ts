import { Hono } from "hono";
import type { Agentd } from "../../app.ts";
import { liveWindowMs } from "../../health/report.ts";
import type { ApiEnv } from "../env.ts";

/** The operator's view of the workers on this store: live ones, what each serves (workflow → version). */
export function workerRoutes(app: Agentd) {
  return new Hono<ApiEnv>().get("/workers", async (c) => {
    const workers = await app.kernel.workers(liveWindowMs(app.config.leaseMs));
    return c.json({
      workers: workers.map((w) => ({
        id: w.id,
        workflows: w.workflows,
        startedAt: w.startedAt,
        heartbeatAt: w.heartbeatAt,
      })),
    });
  });
}
