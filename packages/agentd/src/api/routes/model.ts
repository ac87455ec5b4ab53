import { Hono } from "hono";
import type { Agentd } from "../../app.ts";
import { MODEL_IN_CODE, NO_MODEL_HINT } from "../../agent/model.ts";
import { type ModelReach, modelReachability } from "../../health/model-reach.ts";
import type { ApiEnv } from "../env.ts";

// One cached check per agentd: every operator's overview reads the same answer within its minute.
const checks = new WeakMap<Agentd, () => Promise<ModelReach>>();

/** The operator's view of the model: which endpoint, and whether it answers (a free model list, cached). */
export function modelRoutes(app: Agentd) {
  return new Hono<ApiEnv>().get("/model", async (c) => {
    let check = checks.get(app);
    if (!check) {
      const inCode = app.models?.describe === MODEL_IN_CODE ? app.models.chat : undefined;
      check = modelReachability(
        { ...app.config.model, ...(inCode ? { model: inCode } : {}) },
        { now: () => app.kernel.clock.now() },
      );
      checks.set(app, check);
    }
    return c.json({ model: app.models?.describe ?? NO_MODEL_HINT, ...(await check()) });
  });
}
