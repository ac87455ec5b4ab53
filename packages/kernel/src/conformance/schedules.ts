import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, InvalidScheduleError, Kernel, ScheduleNotFoundError, type Store, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { closes, fakeKernel, tempStore, until } from "./helpers.ts";
import { scheduleBatch } from "./schedule-batch.ts";

const MIN = 60_000;
const tick = workflow("tick", async (ctx, input: { note?: string } | null) =>
  ctx.step("work", () => ({ at: ctx.runId, note: input?.note ?? null })),
);
const slow = workflow("slow", async (ctx) => ctx.waitForEvent("done"));

async function settled(kernel: Kernel, n: number): Promise<void> {
  await until(async () => (await kernel.listRuns({ limit: 10_000 })).length >= n, `${n} runs`);
}

export function schedules(backend: Backend): void {
  scheduleBatch(backend);
  test("a schedule starts one run per tick, records each tick, and lists its next fire times", async (t) => {
    const { store } = await tempStore(t, backend);
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    const { kernel } = fakeKernel(t, store, [tick], { clock });
    const s = await kernel.schedules.create({
      id: "every-minute",
      workflow: "tick",
      cron: "* * * * *",
      input: { note: "hi" },
    });
    assert.deepEqual(
      s.nextFireTimes.slice(0, 3),
      [1, 2, 3].map((m) => Date.UTC(2026, 0, 1, 0, m)),
    );
    for (let i = 0; i < 5; i++) {
      const due = Date.UTC(2026, 0, 1, 0, i + 1);
      await until(() => kernel.worker?.wakeAt === due, "the worker to arm its timer for the tick");
      await clock.advance(due - clock.now()); // stop the clock at the tick while the worker handles it
      await until(async () => (await kernel.listRuns({ status: "completed" })).length === i + 1, `run ${i + 1}`);
      await clock.advance(30_000);
    }
    await until(async () => (await kernel.listRuns({ status: "completed" })).length === 5, "5 completed runs");
    const runs = await kernel.listRuns();
    assert.equal(runs.length, 5);
    assert.deepEqual(
      runs.map((r) => r.key).sort(),
      [1, 2, 3, 4, 5].map((m) => `schedule:every-minute:${new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString()}`),
    );
    assert.ok(runs.every((r) => (r.output as { note: string }).note === "hi"));
    const ticks = await kernel.schedules.ticks("every-minute");
    assert.equal(ticks.length, 5);
    assert.ok(
      ticks.every((x) => x.status === "started" && x.runId && x.firedAt - x.tickAt === 0),
      "fired exactly at the tick on the fake clock",
    );
  });

  test("with several workers on one store each tick still starts exactly one run", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const kernels: Kernel[] = [];
    for (let i = 0; i < 3; i++) {
      const s: Store = i === 0 ? store : await open();
      kernels.push(
        closes(
          t,
          new Kernel({
            store: s,
            workflows: [tick],
            clock,
            worker: { pollMs: 3_600_000, id: `w${i}` },
            onError: () => {},
          }).startWorker(),
        ),
      );
    }
    await kernels[0]!.schedules.create({ id: "shared", workflow: "tick", cron: "*/10 * * * * *" }); // every 10 s
    for (const k of kernels) k.worker?.schedulesChanged();
    for (let i = 0; i < 30; i++) {
      await clock.advance(10_000);
      for (const k of kernels) k.worker?.signal();
      await until(
        async () => (await kernels[0]!.listRuns({ status: "completed", limit: 1000 })).length >= i + 1,
        `run ${i + 1}`,
      );
    }
    await until(async () => (await kernels[0]!.listRuns({ status: "completed", limit: 1000 })).length >= 30, "30 runs");
    await new Promise((r) => setTimeout(r, 50));
    const runs = await kernels[0]!.listRuns({ limit: 1000 });
    assert.equal(runs.length, 30, "one run per tick, no duplicates");
    assert.equal(new Set(runs.map((r) => r.key)).size, 30);
    const ticks = await kernels[0]!.schedules.ticks("shared", 1000);
    assert.equal(ticks.filter((x) => x.status === "started").length, 30);
  });

  for (const [policy, expectRuns] of [
    ["latest", 1],
    ["none", 0],
    [{ all: 3 }, 3],
  ] as const) {
    test(`after downtime, catch-up ${JSON.stringify(policy)} runs ${expectRuns} missed tick(s) and records the rest as skipped`, async (t) => {
      const { store, open } = await tempStore(t, backend);
      const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
      const client = closes(t, new Kernel({ store, workflows: [tick], clock, worker: false }));
      await client.schedules.create({
        id: "s",
        workflow: "tick",
        cron: "0 * * * *",
        catchUp: policy,
        overlap: "allow",
      });
      // No worker for 10 h 30 min: the hourly ticks 01:00 … 10:00 are missed; the last one is 30 min late.
      await clock.advance(10 * 3_600_000 + 30 * MIN);
      const worker = closes(
        t,
        new Kernel({
          store: await open(),
          workflows: [tick],
          clock,
          worker: { pollMs: 3_600_000 },
          onError: () => {},
        }).startWorker(),
      );
      await until(async () => (await client.schedules.ticks("s", 100)).length >= 10, "10 tick records");
      const ticks = await client.schedules.ticks("s", 100);
      const started = ticks.filter((x) => x.status === "started");
      const skipped = ticks.filter((x) => x.status === "skipped");
      assert.equal(ticks.length, 10);
      assert.equal(started.length, expectRuns);
      assert.equal(skipped.length, 10 - expectRuns);
      assert.ok(
        skipped.every((x) => /missed: no worker ran the schedule at .* \(catch-up policy/.test(x.reason ?? "")),
        skipped[0]?.reason ?? "",
      );
      assert.deepEqual(
        started.map((x) => x.tickAt).sort(),
        [8, 9, 10].slice(3 - expectRuns).map((h) => Date.UTC(2026, 0, 1, h)),
        "the latest missed ticks run",
      );
      await settled(worker, expectRuns);
      assert.equal((await worker.listRuns()).length, expectRuns);
      assert.equal(
        (await worker.schedules.get("s")).nextFireTimes[0],
        Date.UTC(2026, 0, 1, 11),
        "then it goes on from now",
      );
    });
  }

  test("catch-up none still runs a tick that is only a little late", async (t) => {
    const { store } = await tempStore(t, backend);
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
    const client = closes(t, new Kernel({ store, workflows: [tick], clock, worker: false }));
    await client.schedules.create({ id: "n", workflow: "tick", cron: "0 * * * *", catchUp: "none" });
    await clock.advance(3_600_000 + 20_000);
    const { kernel } = fakeKernel(t, store, [tick], { clock });
    await settled(kernel, 1);
    assert.deepEqual(
      (await client.schedules.ticks("n")).map((x) => x.status),
      ["started"],
    );
  });

  test("overlap: skip records a tick skipped while the previous run goes on; queue starts it after; allow runs both", async (t) => {
    const { store } = await tempStore(t, backend);
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const { kernel } = fakeKernel(t, store, [slow], { clock });
    for (const overlap of ["skip", "queue", "allow"] as const)
      await kernel.schedules.create({ id: overlap, workflow: "slow", cron: "* * * * *", overlap });
    await clock.advance(MIN);
    await settled(kernel, 3);
    await clock.advance(MIN);
    await until(
      async () =>
        (await kernel.schedules.ticks("queue")).length === 2 &&
        (await kernel.schedules.ticks("skip")).length === 2 &&
        (await kernel.listRuns()).length === 4,
      "second ticks",
    );
    const [skip2] = await kernel.schedules.ticks("skip");
    assert.equal(skip2?.status, "skipped");
    assert.match(skip2?.reason ?? "", /previous run .* was still running \(overlap policy: skip\)/);
    const [queue2] = await kernel.schedules.ticks("queue");
    assert.equal(queue2?.status, "queued");
    assert.equal(
      (await kernel.listRuns({ limit: 100 })).filter((r) => r.workflow === "slow").length,
      4,
      "allow started a second run",
    );
    // The queued tick starts once the run ahead of it ends.
    const first = (await kernel.schedules.get("queue")).lastRunId as string;
    await kernel.sendEvent(first, "done", 1);
    await kernel.result(first);
    await clock.advance(1_000);
    await until(
      async () => (await kernel.schedules.ticks("queue"))[0]?.status === "started",
      "the queued tick to start",
    );
    const [started] = await kernel.schedules.ticks("queue");
    assert.equal(started?.tickAt, Date.UTC(2026, 0, 1, 0, 2));
    assert.notEqual(started?.runId, first);
  });

  test("daylight saving: a daily schedule in New York fires once on the spring-forward and the fall-back day, as croner defines", async (t) => {
    const { store } = await tempStore(t, backend);
    const clock = new FakeClock(Date.UTC(2026, 2, 7, 12)); // 7 March 2026; DST starts 8 March at 02:00
    const { kernel } = fakeKernel(t, store, [tick], { clock, worker: { leaseMs: 3_600_000 } });
    await kernel.schedules.create({ id: "spring", workflow: "tick", cron: "30 2 * * *", timezone: "America/New_York" });
    const spring = await kernel.schedules.get("spring");
    // 02:30 does not exist on 8 March: croner fires at the first valid instant (03:00 EDT), then 02:30 EST→EDT as usual.
    assert.deepEqual(spring.nextFireTimes.slice(0, 2), [Date.UTC(2026, 2, 8, 7, 0), Date.UTC(2026, 2, 9, 6, 30)]);
    for (let h = 0; h < 48; h++) {
      await clock.advance(3_600_000);
      const due = spring.nextFireTimes.filter((x) => x <= clock.now()).length;
      // Each tick's run ends before the next tick (a run still going would make the next tick skip, by the overlap policy).
      await until(
        async () =>
          (await kernel.schedules.ticks("spring")).length === due &&
          (await kernel.listRuns({ status: "completed" })).length === due,
        "the spring ticks",
      );
    }
    assert.deepEqual((await kernel.schedules.ticks("spring")).map((x) => [x.tickAt, x.status]).reverse(), [
      [Date.UTC(2026, 2, 8, 7, 0), "started"],
      [Date.UTC(2026, 2, 9, 6, 30), "started"],
    ]);
    await kernel.schedules.delete("spring");
    await clock.advance(Date.UTC(2026, 9, 31, 12) - clock.now()); // 31 October; DST ends 1 November at 02:00
    const fall = await kernel.schedules.create({
      id: "fall",
      workflow: "tick",
      cron: "30 1 * * *",
      timezone: "America/New_York",
    });
    for (let h = 0; h < 48; h++) {
      await clock.advance(3_600_000);
      const due = fall.nextFireTimes.filter((x) => x <= clock.now()).length;
      await until(
        async () =>
          (await kernel.schedules.ticks("fall")).length === due &&
          (await kernel.listRuns({ status: "completed" })).length === 2 + due,
        "the fall ticks",
      );
    }
    // 01:30 happens twice on 1 November: croner fires at the first (EDT), once.
    assert.deepEqual((await kernel.schedules.ticks("fall")).map((x) => x.tickAt).reverse(), [
      Date.UTC(2026, 10, 1, 5, 30),
      Date.UTC(2026, 10, 2, 6, 30),
    ]);
  });

  test("schedules can be paused, resumed, updated and deleted at run time", async (t) => {
    const { store } = await tempStore(t, backend);
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const { kernel } = fakeKernel(t, store, [tick], { clock });
    await kernel.schedules.create({ id: "p", workflow: "tick", cron: "* * * * *" });
    await clock.advance(MIN);
    await settled(kernel, 1);
    assert.deepEqual((await kernel.schedules.pause("p")).nextFireTimes, []);
    for (let i = 0; i < 3; i++) await clock.advance(MIN);
    assert.equal((await kernel.listRuns()).length, 1, "no run while paused");
    const resumed = await kernel.schedules.resume("p");
    assert.equal(resumed.nextFireTimes[0], Date.UTC(2026, 0, 1, 0, 5), "resumes from now; paused ticks are not run");
    const updated = await kernel.schedules.update("p", { cron: "0 * * * *" });
    assert.equal(updated.nextFireTimes[0], Date.UTC(2026, 0, 1, 1, 0));
    assert.deepEqual(
      (await kernel.schedules.list()).map((s) => s.id),
      ["p"],
    );
    await kernel.schedules.delete("p");
    await assert.rejects(kernel.schedules.get("p"), ScheduleNotFoundError);
    await clock.advance(3_600_000);
    assert.equal((await kernel.listRuns()).length, 1);
  });

  test("invalid cron expressions, unknown time zones and policies are refused at creation; nothing is stored", async (t) => {
    const { store } = await tempStore(t, backend);
    const { kernel } = fakeKernel(t, store, [tick]);
    const bad: [object, RegExp][] = [
      [{ cron: "61 * * * *" }, /invalid cron expression "61 \* \* \* \*": Invalid value for minute: 61/],
      [{ cron: "" }, /needs a cron expression/],
      [{ cron: "* * * * *", timezone: "Mars/Base" }, /unknown time zone "Mars\/Base"/],
      [{ cron: "* * * * *", overlap: "sometimes" }, /overlap must be one of skip, queue, allow/],
      [{ cron: "* * * * *", catchUp: { all: 0 } }, /catchUp must be/],
      [{ cron: "* * * * *", id: "has space" }, /schedule id "has space" is invalid/],
    ];
    for (const [spec, re] of bad) {
      await assert.rejects(
        kernel.schedules.create({ workflow: "tick", ...spec } as never),
        (e: Error) => InvalidScheduleError.is(e) && re.test(e.message),
        JSON.stringify(spec),
      );
    }
    await assert.rejects(
      kernel.schedules.create({ workflow: "nope", cron: "* * * * *" }),
      /workflow "nope" is not registered/,
    );
    await kernel.schedules.create({ id: "ok", workflow: "tick", cron: "* * * * *" });
    await assert.rejects(kernel.schedules.create({ id: "ok", workflow: "tick", cron: "0 0 * * *" }), /already exists/);
    await assert.rejects(kernel.schedules.update("ok", { cron: "bad" }), InvalidScheduleError);
    assert.deepEqual(
      (await kernel.schedules.list()).map((s) => [s.id, s.cron]),
      [["ok", "* * * * *"]],
    );
  });
}
