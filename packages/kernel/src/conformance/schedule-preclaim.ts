import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, Kernel, type Store, type Workflow, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { closes, fakeKernel, gate, tempStore, until } from "./helpers.ts";

const START = Date.UTC(2026, 0, 1, 0, 0, 30);
const TICK = Date.UTC(2026, 0, 1, 0, 1);
/** Once a year, at TICK: no second tick fires while a test moves its clocks on. */
const YEARLY = "1 0 1 1 *";

/** Reads of a run's journal or events, by the proxy of `withoutClaims`. */
const loads = new WeakMap<Store, string[]>();

/**
 * The store, but its claims never return a run: whatever runs on it was taken on as the firing inserted it.
 * Its loads of a run's journal and events are listed in `loads`.
 */
function withoutClaims(store: Store): Store {
  const seen: string[] = [];
  const proxy = new Proxy(store, {
    get(target, prop) {
      if (prop === "claim") return async () => [];
      const v = Reflect.get(target, prop, target);
      if (prop === "loadJournal" || prop === "loadEvents")
        return (id: string) => (seen.push(`${prop} ${id}`), (v as (id: string) => unknown).call(target, id));
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  loads.set(proxy, seen);
  return proxy;
}

function worker(store: Store, wf: Workflow<never, unknown>, clock: FakeClock, id: string, leaseMs: number): Kernel {
  return new Kernel({
    store,
    workflows: [wf],
    clock,
    worker: { pollMs: 3_600_000, leaseMs, id },
    onError: () => {},
    logger: () => {},
  }).startWorker();
}

/** Creates the yearly schedule on `k` and moves `clock` to its tick once the worker armed its timer for it. */
async function fireAtTick(k: Kernel, clock: FakeClock, wf: string): Promise<void> {
  await k.schedules.create({ id: "beat", workflow: wf, cron: YEARLY });
  await until(() => k.worker?.wakeAt === TICK, "the worker to arm its timer for the tick");
  await clock.advance(TICK - clock.now());
}

// A worker inserts the runs it fires claimed by itself (as far as it has room) and executes them without a
// claim. They keep every promise of a claimed run: leases renewed, taken over when the worker dies, handed back.
export function schedulePreclaim(backend: Backend): void {
  test("a fired run executes on the worker that fired it with no claim and no load, once per tick, its tick recorded", async (t) => {
    const { store } = await tempStore(t, backend);
    const beat = workflow("beat", async (ctx) => ctx.step("s", () => ctx.runId));
    const clock = new FakeClock(START);
    const bare = withoutClaims(store);
    const { kernel } = fakeKernel(t, bare, [beat], { clock, worker: { id: "A" } });
    await kernel.schedules.create({ id: "beat", workflow: "beat", cron: "* * * * *" });
    for (let i = 1; i <= 3; i++) {
      const due = START + 30_000 + (i - 1) * 60_000;
      await until(() => kernel.worker?.wakeAt === due, `the timer for tick ${i}`);
      await clock.advance(due - clock.now());
      await until(async () => (await kernel.listRuns({ status: "completed" })).length === i, `run ${i} to complete`);
      await clock.advance(30_000);
    }
    const runs = await kernel.listRuns();
    assert.equal(runs.length, 3, "one run per tick");
    assert.ok(runs.every((r) => r.output === r.id && r.epoch === 1));
    const ticks = await kernel.schedules.ticks("beat");
    assert.equal(ticks.length, 3);
    assert.deepEqual(new Set(ticks.map((x) => x.runId)), new Set(runs.map((r) => r.id)));
    assert.ok(ticks.every((x) => x.status === "started"));
    // Its journal is empty and nobody else can have written it: the run begins with nothing read.
    assert.deepEqual(loads.get(bare), [], "no journal or events loaded");
  });

  test("more ticks due at once than the worker has room for: as many begin fired, the others are claimed as slots free", async (t) => {
    const { store } = await tempStore(t, backend);
    const hold = gate();
    const ran: string[] = [];
    const beat = workflow("beat-many", async (ctx) => ctx.step("s", async () => (ran.push(ctx.runId), hold.promise)));
    const clock = new FakeClock(START);
    const counted = withoutClaims(store);
    let claims = 0;
    // Claims pass through here (counted): the runs beyond the worker's room are claimed the usual way.
    const claiming = new Proxy(counted, {
      get(target, prop) {
        if (prop === "claim") return (req: Parameters<Store["claim"]>[0]) => (claims++, store.claim(req));
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const { kernel } = fakeKernel(t, claiming, [beat], { clock, worker: { id: "A", concurrency: 3 } });
    for (let i = 0; i < 5; i++) await kernel.schedules.create({ id: `beat-${i}`, workflow: "beat-many", cron: YEARLY });
    await until(() => kernel.worker?.wakeAt === TICK, "the worker to arm its timer for the tick");
    const claimsBefore = claims;
    await clock.advance(TICK - clock.now());
    await until(() => ran.length === 3, "three runs begun at the tick");
    assert.equal(kernel.worker?.load.active, 3, "no more than its room");
    assert.equal(loads.get(counted)?.length, 0, "the three fired runs loaded nothing");
    const firstThree = new Set(ran);
    hold.open();
    await until(async () => (await kernel.listRuns({ status: "completed" })).length === 5, "all five runs to complete");
    assert.ok(claims > claimsBefore, "the other two were claimed");
    // Claimed at epoch 1, nobody held them before: their events are read, their (empty) journal is not.
    assert.deepEqual(
      loads
        .get(counted)
        ?.map((l) => l.split(" ")[0])
        .sort(),
      ["loadEvents", "loadEvents"],
    );
    const ticks = await kernel.schedules.ticks("beat-0");
    assert.deepEqual(
      ticks.map((x) => x.status),
      ["started"],
    );
    const runs = await kernel.listRuns();
    assert.equal(runs.length, 5, "one run per schedule");
    assert.equal(runs.filter((r) => firstThree.has(r.id) && r.epoch === 1).length, 3);
  });

  test("a fired run whose insert conflicted is not the firing worker's: nothing executes", async (t) => {
    const { store } = await tempStore(t, backend);
    let starts = 0;
    const wf = workflow("beat-taken", async (ctx) => ctx.step("s", () => ++starts));
    const clock = new FakeClock(START);
    // A run started another way, and ended, holds the tick's key already: the firing's insert conflicts.
    const { kernel: starter } = fakeKernel(t, store, [wf], { clock, worker: { id: "S" } });
    const taken = await starter.start(wf, null, { key: `schedule:beat:${new Date(TICK).toISOString()}` });
    await starter.result(taken.id);
    await starter.worker?.stop();
    const a = closes(t, worker(withoutClaims(store), wf, clock, "A", 30_000));
    await fireAtTick(a, clock, wf.name);
    await until(async () => (await a.schedules.ticks("beat")).length === 1, "the tick to be handled");
    await new Promise((r) => setTimeout(r, 100)); // a run taken on by mistake would be executing by now
    assert.equal(a.worker?.load.active, 0, "A holds no run");
    assert.equal(starts, 1, "nothing executed but the run that held the key");
    const runs = await store.listRuns({ limit: 10 });
    assert.deepEqual(
      runs.map((r) => [r.id, r.status, r.epoch]),
      [[taken.id, "completed", 1]],
    );
  });

  test("a worker that dies holding a fired run: another takes it over once its lease expires, not before", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const hang = gate<string>();
    const ran: string[] = [];
    const wf = workflow("beat-hang", async (ctx) => {
      const who = await ctx.step("s", () => (ran.push(ctx.runId), ran.length === 1 ? hang.promise : "B"));
      return `done by ${who}`;
    });
    const clockA = new FakeClock(START);
    const a = closes(t, worker(withoutClaims(store), wf, clockA, "A", 10_000));
    await fireAtTick(a, clockA, wf.name);
    await until(() => ran.length === 1, "A to run the fired run");
    const id = ran[0] as string;
    const held = await store.getRun(id);
    assert.equal(held?.leaseOwner, "A");
    assert.equal(held?.epoch, 1);
    // A is dead: its clock stands still, so it renews nothing. B wakes when A's lease expires.
    const clockB = new FakeClock(TICK + 5_000);
    const b = closes(t, worker(await open(), wf, clockB, "B", 10_000));
    await until(() => b.worker?.wakeAt === TICK + 10_000, "B to arm its timer for the lease's expiry");
    assert.equal(ran.length, 1, "B did not take the run while A's lease held");
    await clockB.advance(5_001);
    assert.equal(await b.result(id), "done by B");
    assert.equal((await b.getRun(id))?.epoch, 2);
    // A wakes up: its write is fenced off.
    hang.open("A");
    await until(() => a.worker?.load.active === 0, "A to drop the run");
    assert.equal((await b.getRun(id))?.output, "done by B");
    assert.equal((await b.listRuns()).length, 1, "the tick started one run");
    const ticks = await b.schedules.ticks("beat");
    assert.deepEqual(
      ticks.map((x) => [x.status, x.runId]),
      [["started", id]],
    );
  });

  test("a worker closed while holding a fired run hands it back: another takes it at once", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const hang = gate<number>();
    let starts = 0;
    const wf = workflow("beat-close", async (ctx) => ctx.step("s", () => (++starts === 1 ? hang.promise : 2)));
    const clock = new FakeClock(START);
    const a = worker(withoutClaims(store), wf, clock, "A", 3_600_000);
    await fireAtTick(a, clock, wf.name);
    await until(() => starts === 1, "A to run the fired run");
    await a.close();
    const [run] = await store.listRuns({ limit: 10 });
    assert.equal(run?.status, "pending");
    const b = closes(t, worker(await open(), wf, clock, "B", 3_600_000));
    assert.equal(await b.result(run?.id as string), 2);
  });

  test("a fired run's lease is renewed like a claimed one's: no other worker takes it over", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const long = gate<string>();
    let starts = 0;
    const wf = workflow("beat-long", async (ctx) => ctx.step("long", () => (starts++, long.promise)));
    const clock = new FakeClock(START);
    const a = closes(t, worker(withoutClaims(store), wf, clock, "A", 9_000));
    await fireAtTick(a, clock, wf.name);
    await until(() => starts === 1, "A to run the fired run");
    const [run] = await store.listRuns({ limit: 10 });
    const id = run?.id as string;
    const b = closes(t, worker(await open(), wf, clock, "B", 9_000));
    for (let i = 0; i < 15; i++) {
      await clock.advance(3_000); // 45 s in all, five leases
      await until(async () => ((await store.getRun(id))?.leaseExpiresAt ?? 0) >= clock.now() + 6_000, "the renewal");
      b.worker?.signal();
    }
    const info = await store.getRun(id);
    assert.equal(info?.leaseOwner, "A");
    assert.equal(info?.epoch, 1);
    assert.equal(starts, 1, "B never started the step");
    long.open("finished");
    assert.equal(await a.result(id), "finished");
  });
}
