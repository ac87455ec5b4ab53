/**
 * A thousand tenants' heartbeats due on the same second all begin on the worker that fires them: none
 * waits for a claim (and the load of its journal) behind the others, which made a tenth of them still
 * running when their next tick came, and that tick skipped by the overlap policy.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock } from "@agentd/kernel";
import { JOB_WORKFLOWS } from "../src/jobs/workflows.ts";
import { TenantSettings } from "../src/tenancy/settings.ts";
import { BACKENDS } from "./support/backends.ts";
import { testAgentd } from "./support/app.ts";
import { until } from "./support/wait.ts";

const TENANTS = 1_000;

for (const b of BACKENDS) {
  describe(`heartbeats due at one instant (${b.name})`, () => {
    test("1,000 tenants' heartbeats due on one second all begin where they are fired: none is claimed", {
      timeout: 120_000,
    }, async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 10, 23, 8, 0, 0, 500));
      const { app } = await testAgentd(t, b, { clock });
      // The schedules as syncHeartbeat makes them; the due check needs no tenant row (nothing is due).
      const ids = Array.from({ length: TENANTS }, (_, i) => `ten_beat_${i}`);
      for (let i = 0; i < TENANTS; i += 50)
        await Promise.all(ids.slice(i, i + 50).map((id) => app.jobs.syncHeartbeat(id, beatEverySecond)));
      const tick = Date.UTC(2026, 10, 23, 8, 0, 1);
      await until(() => app.kernel.worker?.wakeAt === tick, "the worker to arm its timer for the tick", 30_000);
      // Every run a claim hands this worker, by workflow.
      const store = app.store;
      const claim = store.claim.bind(store);
      const claimed: string[] = [];
      store.claim = async (req) => {
        const runs = await claim(req);
        for (const r of runs) claimed.push(r.workflow);
        return runs;
      };
      await clock.advance(tick - clock.now());
      const done = async () =>
        (await app.kernel.listRuns({ workflow: JOB_WORKFLOWS.heartbeat, status: "completed", limit: TENANTS })).length;
      await until(async () => (await done()) === TENANTS, "every heartbeat of the tick to complete", 60_000);
      assert.deepEqual(
        claimed.filter((w) => w === JOB_WORKFLOWS.heartbeat),
        [],
        "no heartbeat run was claimed",
      );
      const ticks = await app.kernel.schedules.ticks(`heartbeat:${ids[TENANTS - 1]}`);
      assert.deepEqual(
        ticks.map((x) => [x.status, x.tickAt - tick]),
        [["started", 0]],
      );
    });
  });
}

const beatEverySecond = TenantSettings.parse({ heartbeat: "* * * * * *" });
