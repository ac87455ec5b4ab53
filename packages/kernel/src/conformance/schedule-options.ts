import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { fakeKernel, gate, tempStore, until } from "./helpers.ts";

// A run a schedule starts is the workflow's run like any other: its options apply.
export function scheduleOptions(backend: Backend): void {
  test("a scheduled run obeys the workflow's timeout", async (t) => {
    const { store } = await tempStore(t, backend);
    const never = gate<string>();
    const bounded = workflow("bounded", async (ctx) => ctx.step("long", () => never.promise), { timeout: "1s" });
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    const { kernel } = fakeKernel(t, store, [bounded], { clock });
    await kernel.schedules.create({ id: "b", workflow: "bounded", cron: "* * * * *" });
    await until(() => kernel.worker?.wakeAt === Date.UTC(2026, 0, 1, 0, 1), "the tick's timer");
    await clock.advance(30_000);
    await until(async () => (await kernel.listRuns({ status: "running" })).length === 1, "the scheduled run to start");
    const [run] = await kernel.listRuns();
    assert.equal(run?.deadlineAt, Date.UTC(2026, 0, 1, 0, 1, 1), "the deadline is the tick plus the workflow's 1 s");
    await clock.advance(2_500);
    await until(async () => (await kernel.getRun(run!.id))?.status === "failed", "the run to time out");
    assert.match((await kernel.getRun(run!.id))?.error?.message ?? "", /timed out|timeout/i);
  });

  test("scheduled runs queue for the workflow's concurrency lane", async (t) => {
    const { store } = await tempStore(t, backend);
    const held = gate();
    let running = 0;
    let most = 0;
    const lane = workflow(
      "lane",
      async (ctx) =>
        ctx.step("hold", async () => {
          most = Math.max(most, ++running);
          await held.promise;
          running--;
        }),
      { concurrency: { key: () => "one", limit: 1 } },
    );
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
    const { kernel } = fakeKernel(t, store, [lane], { clock });
    await kernel.schedules.create({ id: "l", workflow: "lane", cron: "* * * * * *", overlap: "allow" });
    for (let i = 0; i < 5; i++) {
      await clock.advance(1_000);
      kernel.worker?.signal();
      await until(async () => (await kernel.listRuns({ limit: 100 })).length === i + 1, `run ${i + 1}`);
    }
    const runs = await kernel.listRuns({ limit: 100 });
    assert.equal(runs.filter((r) => r.status === "running").length, 1, "one runs");
    assert.equal(runs.filter((r) => r.queued).length, 4, "four wait for the lane");
    assert.ok(runs.every((r) => r.concurrencyKey === "default:one"));
    held.open();
    await until(
      async () => (await kernel.listRuns({ status: "completed", limit: 100 })).length === 5,
      "all five to run in turn",
    );
    assert.equal(most, 1);
  });

  test("a worker that does not serve a schedule's workflow leaves its ticks to one that does", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    const other = workflow("other", async () => null);
    const ticked = workflow("ticked", async (ctx) => ctx.step("s", () => ctx.runId));
    const { kernel: a } = fakeKernel(t, store, [other], { clock });
    const { kernel: admin } = fakeKernel(t, store, [], { clock, worker: false });
    await admin.schedules.create({ id: "x", workflow: "ticked", cron: "* * * * *" });
    a.worker?.schedulesChanged();
    await clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await a.listRuns()).length, 0, "not fired by a worker that cannot run it");
    assert.equal(a.worker?.wakeAt ?? null, null, "and it does not wake for it");
    const { kernel: b } = fakeKernel(t, await open(), [ticked], { clock });
    await until(
      async () => (await b.listRuns({ status: "completed" })).length === 1,
      "the serving worker to run the tick",
    );
    const [run] = await b.listRuns();
    assert.equal(run?.version, ticked.version);
  });
}
