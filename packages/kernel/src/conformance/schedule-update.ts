import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { fakeKernel, tempStore, until } from "./helpers.ts";

// Changing a schedule never loses ticks silently: missed ones still run by the catch-up policy, or are recorded with why.
const noted = workflow("noted", async (ctx, input: { note: string }) => ctx.step("s", () => input.note));
const T0 = Date.UTC(2026, 0, 1, 0, 0, 30);
const minute = (m: number) => Date.UTC(2026, 0, 1, 0, m);

export function scheduleUpdate(backend: Backend): void {
  test("an update after missed ticks keeps them due: they run by the catch-up policy, with the new definition", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const clock = new FakeClock(T0);
    const { kernel: admin } = fakeKernel(t, store, [noted], { clock, worker: false });
    await admin.schedules.create({
      id: "u",
      workflow: "noted",
      cron: "* * * * *",
      input: { note: "old" },
      catchUp: { all: 10 },
      overlap: "allow",
    });
    await clock.advance(5 * 60_000); // no worker for five ticks
    await admin.schedules.update("u", { input: { note: "new" } });
    const { kernel } = fakeKernel(t, await open(), [noted], { clock });
    await until(
      async () => (await kernel.listRuns({ status: "completed", limit: 100 })).length === 5,
      "the five missed ticks to run",
    );
    const runs = await kernel.listRuns({ limit: 100 });
    assert.deepEqual(
      runs.map((r) => r.output),
      ["new", "new", "new", "new", "new"],
    );
    const ticks = await kernel.schedules.ticks("u");
    assert.deepEqual(
      ticks.map((x) => [x.tickAt, x.status]).reverse(),
      [1, 2, 3, 4, 5].map((m) => [minute(m), "started"]),
    );
  });

  test("a changed expression records the old one's missed ticks as skipped and invents none from the new one", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const clock = new FakeClock(T0);
    const { kernel: admin } = fakeKernel(t, store, [noted], { clock, worker: false });
    await admin.schedules.create({
      id: "c",
      workflow: "noted",
      cron: "0 0 * * *",
      input: { note: "x" },
      catchUp: { all: 1000 },
    });
    await clock.advance(3 * 86_400_000); // three daily ticks missed
    await admin.schedules.update("c", { cron: "* * * * *" });
    const ticks = await admin.schedules.ticks("c");
    assert.equal(ticks.length, 1);
    assert.match(ticks[0]?.reason ?? "", /missed: 3 ticks from .* had not run when the schedule's expression changed/);
    const { kernel } = fakeKernel(t, await open(), [noted], { clock });
    await clock.advance(60_000);
    kernel.worker?.signal();
    await until(
      async () => (await kernel.listRuns({ status: "completed" })).length === 1,
      "the new expression's first tick",
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await kernel.listRuns()).length, 1, "no run for minutes of the missed window");
  });

  test("pausing after missed ticks, and resuming after a pause, record the ticks not run and why", async (t) => {
    const { store } = await tempStore(t, backend);
    const clock = new FakeClock(T0);
    const { kernel: admin } = fakeKernel(t, store, [noted], { clock, worker: false });
    await admin.schedules.create({ id: "p", workflow: "noted", cron: "* * * * *", input: { note: "x" } });
    await clock.advance(3 * 60_000);
    await admin.schedules.pause("p");
    let ticks = await admin.schedules.ticks("p");
    assert.equal(ticks.length, 1);
    assert.equal(ticks[0]?.tickAt, minute(1));
    assert.match(ticks[0]?.reason ?? "", /missed: 3 ticks from .* had not run when the schedule was paused/);
    await clock.advance(4 * 60_000);
    await admin.schedules.resume("p");
    ticks = await admin.schedules.ticks("p");
    assert.equal(ticks.length, 2);
    assert.equal(ticks[0]?.tickAt, minute(4));
    assert.match(ticks[0]?.reason ?? "", /4 ticks from .* fell while the schedule was paused/);
    assert.equal((await admin.schedules.get("p")).nextFireTimes[0], minute(8), "it resumes from now");
  });
}
