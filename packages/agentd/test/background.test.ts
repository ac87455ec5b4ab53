import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock } from "@agentd/kernel";
import { sessions } from "../src/sessions/store.ts";
import { jobTools } from "../src/tools/jobs/index.ts";
import type { Tool, ToolContext } from "../src/tools/types.ts";
import { BACKENDS } from "./support/backends.ts";
import { testAgentd } from "./support/app.ts";
import { until } from "./support/wait.ts";

const HOUR = 3_600_000;

for (const b of BACKENDS) {
  describe(`background life (${b.name})`, () => {
    test("a reminder the agent sets sleeps durably and starts a turn at its time, delivered to the session", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 10, 23, 8, 0));
      const { app, model, tenantId } = await testAgentd(t, b, { clock });
      model.script(
        { toolCalls: [{ name: "remind", arguments: { prompt: "Stretch your legs", at: "2026-11-23T09:30" } }] },
        { text: "I'll remind you at 9:30." },
      );
      const r = await app.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c",
        text: "remind me to stretch at 9:30",
      });
      await app.kernel.result(r.runId);
      const scope = app.tenants.scope(tenantId);
      const [job] = await app.jobs.list(scope);
      assert.equal(job?.kind, "reminder");
      assert.equal(job?.at, Date.UTC(2026, 10, 23, 9, 30));
      const sleeper = await until(async () =>
        (await app.kernel.listRuns({ workflow: "agent.reminder" })).find((x) => x.status === "suspended"),
      );
      model.script({ text: "Time to stretch your legs!" });
      await clock.advance(HOUR);
      await new Promise((res) => setTimeout(res, 100));
      assert.equal(model.calls, 2, "nothing fires early");
      await clock.advance(HOUR);
      await app.kernel.result(sleeper.id);
      const hist = await until(async () => {
        const h = await sessions.history(scope, r.session.id);
        return h.length === 4 && h;
      });
      assert.deepEqual(
        hist.slice(2).map((m) => [m.role, m.content]),
        [
          ["event", "Stretch your legs"],
          ["assistant", "Time to stretch your legs!"],
        ],
      );
      assert.match(model.requests.at(-1)!.body.messages[0].content, /started by a reminder the user set/);
      assert.deepEqual(await app.jobs.list(scope), [], "a fired reminder is done");
    });

    test("a recurring job is a kernel schedule in the tenant's zone; cancelling it stops it", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 10, 23, 8, 0));
      const { app, model, tenantId } = await testAgentd(t, b, { clock, tenantSettings: { timezone: "Europe/Paris" } });
      model.script(
        { toolCalls: [{ name: "schedule", arguments: { prompt: "Daily plan", cron: "0 10 * * *" } }] },
        { text: "Scheduled." },
      );
      const r = await app.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c",
        text: "every day at 10 plan my day",
      });
      await app.kernel.result(r.runId);
      const scope = app.tenants.scope(tenantId);
      const [job] = await app.jobs.list(scope);
      assert.deepEqual([job?.kind, job?.cron, job?.timezone], ["recurring", "0 10 * * *", "Europe/Paris"]);
      const info = await app.kernel.schedules.get(`job:${job!.id}`);
      assert.equal(info.nextFireTimes[0], Date.UTC(2026, 10, 23, 9, 0), "10:00 in Paris is 09:00 UTC in November");
      model.fallback = () => ({ text: "Here is your plan." });
      await clock.advance(HOUR + 1000);
      const run = await until(async () =>
        (await app.kernel.listRuns({ workflow: "agent.turn" })).find(
          (x) => x.id !== r.runId && x.status === "completed",
        ),
      );
      assert.equal((run.output as { text: string }).text, "Here is your plan.");
      assert.equal(await app.jobs.cancel(scope, job!.id), true);
      await assert.rejects(app.kernel.schedules.get(`job:${job!.id}`));
      const calls = model.calls;
      await clock.advance(24 * HOUR);
      await new Promise((res) => setTimeout(res, 200));
      assert.equal(model.calls, calls, "a cancelled job never fires");
    });

    test("the remind and schedule tools run again with the same call (their process died mid-step) make no second job", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 10, 23, 8, 0));
      const { app, tenantId } = await testAgentd(t, b, { clock });
      const scope = app.tenants.scope(tenantId);
      const [remind, schedule] = jobTools as [Tool, Tool];
      const ctx = (callId: string) =>
        ({
          tenant: scope,
          sessionId: null,
          runId: "run-1",
          callId,
          now: clock.now(),
          timezone: "UTC",
          services: { jobs: app.jobs },
        }) as unknown as ToolContext;
      const at = { prompt: "Stretch", at: "2026-11-23T09:30" };
      const first = (await remind.run(at, ctx("call-a"))) as { id: string };
      assert.deepEqual(await remind.run(at, ctx("call-a")), first, "the same call: the same reminder");
      const daily = { prompt: "Plan", cron: "0 10 * * *" };
      const plan = (await schedule.run(daily, ctx("call-b"))) as { id: string };
      assert.deepEqual(await schedule.run(daily, ctx("call-b")), plan);
      assert.deepEqual((await app.jobs.list(scope)).map((j) => j.id).sort(), [first.id, plan.id].sort());
      assert.equal((await app.kernel.listRuns({ workflow: "agent.reminder" })).length, 1, "one reminder run");
      assert.ok(await app.kernel.schedules.get(`job:${plan.id}`));
      // Another call is another job.
      await remind.run(at, ctx("call-c"));
      assert.equal((await app.jobs.list(scope)).length, 3);
      assert.equal((await app.kernel.listRuns({ workflow: "agent.reminder" })).length, 2);
    });

    test("the heartbeat makes no model call when nothing is due, and one turn when a note becomes due", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 10, 23, 8, 0));
      const { app, model, tenantId } = await testAgentd(t, b, { clock });
      const tenant = await app.tenants.update(tenantId, { settings: { heartbeat: "*/5 * * * *" } });
      await app.jobs.syncHeartbeat(tenantId, tenant.settings);
      const heartbeats = async () =>
        (await app.kernel.listRuns({ workflow: "agent.heartbeat" })).filter((x) => x.status === "completed");
      for (let i = 1; i <= 6; i++) {
        await clock.advance(5 * 60_000);
        await until(async () => (await heartbeats()).length >= i);
      }
      assert.equal(model.calls, 0, "six heartbeats, nothing due, no model call");
      const scope = app.tenants.scope(tenantId);
      await app.memory.add(scope, { content: "Pay the rent", dueAt: clock.now() + 60_000 });
      model.script({ text: "Reminder: pay the rent." });
      await clock.advance(5 * 60_000);
      const turn = await until(async () =>
        (await app.kernel.listRuns({ workflow: "agent.turn" })).find((x) => x.status === "completed"),
      );
      assert.equal((turn.output as { text: string }).text, "Reminder: pay the rent.");
      assert.equal(model.calls, 1);
      assert.match(model.requests[0]!.body.messages.at(-1).content, /Pay the rent/);
      assert.deepEqual(await app.memory.due(scope, clock.now()), [], "a reported note is done");
      const off = await app.tenants.update(tenantId, { settings: { heartbeat: null } });
      await app.jobs.syncHeartbeat(tenantId, off.settings);
      await assert.rejects(app.kernel.schedules.get(`heartbeat:${tenantId}`));
    });
  });
}
