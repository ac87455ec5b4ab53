import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock, Kernel, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { closes, gate, statusOf, tempStore, until } from "./helpers.ts";

export function leases(backend: Backend): void {
  test("fencing: a worker that lost its lease cannot write; the worker that took the run over records the result", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const paused = gate<string>();
    const ran: string[] = [];
    const wf = workflow("fenced", async (ctx, _: null) => {
      const who = await ctx.step("work", async () => {
        ran.push(ctx.runId);
        return ran.length === 1 ? paused.promise : "worker B";
      });
      return ctx.step("after", () => `done by ${who}`);
    });
    const clockA = new FakeClock();
    const a = new Kernel({
      store,
      workflows: [wf],
      clock: clockA,
      worker: { pollMs: 3_600_000, leaseMs: 10_000, id: "A" },
      onError: () => {},
    }).startWorker();
    const run = await a.start(wf, null);
    await until(() => ran.length === 1, "worker A to start the step");
    // A is paused (its clock stands still, so it renews nothing); B sees the lease expire and takes over.
    const clockB = new FakeClock(clockA.now() + 10_001);
    const b = new Kernel({
      store: await open(),
      workflows: [wf],
      clock: clockB,
      worker: { pollMs: 3_600_000, leaseMs: 10_000, id: "B" },
      onError: () => {},
    }).startWorker();
    closes(t, a);
    closes(t, b);
    assert.equal(await b.result(run.id), "done by worker B");
    const epochAfterB = (await b.getRun(run.id))?.epoch;
    assert.equal(epochAfterB, 2);
    // A wakes up and finishes its attempt: its write is refused by the fence, so nothing changes.
    const journalBefore = JSON.stringify(await b.journal(run.id));
    paused.open("worker A");
    await until(() => a.worker?.load.active === 0, "worker A to drop the run");
    assert.equal(JSON.stringify(await b.journal(run.id)), journalBefore);
    const info = await b.getRun(run.id);
    assert.equal(info?.output, "done by worker B");
    assert.equal(info?.status, "completed");
    // And a direct write at A's old epoch is refused too.
    const [res] = await store.commit(
      [
        {
          runId: run.id,
          epoch: 1,
          owner: "A",
          ops: [{ op: "finish", status: "failed", output: null, error: { name: "X", message: "stale" } }],
        },
      ],
      clockA.now(),
    );
    assert.deepEqual(res, { ok: false, reason: "lease_lost" });
    assert.equal(await statusOf(b, run.id), "completed");
  });

  test("a long step renews its lease, so no other worker takes the run over", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const long = gate<string>();
    let starts = 0;
    const wf = workflow("long-step", async (ctx) => ctx.step("long", () => (starts++, long.promise)));
    const clock = new FakeClock();
    const a = new Kernel({
      store,
      workflows: [wf],
      clock,
      worker: { pollMs: 3_600_000, leaseMs: 9_000, id: "A" },
      onError: () => {},
    }).startWorker();
    const b = new Kernel({
      store: await open(),
      workflows: [wf],
      clock,
      worker: { pollMs: 3_600_000, leaseMs: 9_000, id: "B" },
      onError: () => {},
    }).startWorker();
    closes(t, a);
    closes(t, b);
    const run = await a.start(wf, null);
    await until(() => starts === 1, "the step to start");
    for (let i = 0; i < 20; i++) {
      await clock.advance(3_000); // 60 s in all, far past one lease
      // The renewal that fired is a store round trip: let it land before B looks (a real clock would not jump past it).
      await until(
        async () => ((await store.getRun(run.id))?.leaseExpiresAt ?? 0) >= clock.now() + 6_000,
        "the renewal",
      );
      b.worker?.signal();
    }
    const info = await a.getRun(run.id);
    assert.equal(info?.leaseOwner, "A");
    assert.equal(info?.epoch, 1);
    assert.equal(starts, 1, "B never started the step");
    long.open("finished");
    assert.equal(await a.result(run.id), "finished");
  });

  test("a stopped worker hands its runs back so another takes them at once", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const hang = gate<number>();
    let starts = 0;
    const wf = workflow("handover", async (ctx) => ctx.step("s", () => (++starts === 1 ? hang.promise : 2)));
    const clock = new FakeClock();
    const a = new Kernel({
      store,
      workflows: [wf],
      clock,
      worker: { pollMs: 3_600_000, leaseMs: 3_600_000 },
      onError: () => {},
    }).startWorker();
    const run = await a.start(wf, null);
    await until(() => starts === 1, "the step on A");
    await a.close();
    assert.equal(await statusOf(a, run.id), "pending");
    const b = new Kernel({
      store: await open(),
      workflows: [wf],
      clock,
      worker: { pollMs: 3_600_000 },
      onError: () => {},
    }).startWorker();
    closes(t, b);
    assert.equal(await b.result(run.id), 2);
  });

  describe("close", () => {
    test("hammered: close() resolves only after every run is handed back, even one a claim in flight took meanwhile", async (t) => {
      const { store, open } = await tempStore(t, backend);
      const hang = gate<number>();
      let starts = 0;
      const wf = workflow("handover-race", async (ctx) => ctx.step("s", () => (++starts, hang.promise)));
      const clock = new FakeClock();
      const admin = closes(
        t,
        new Kernel({ store: await open(), workflows: [wf], clock, worker: false, onError: () => {} }),
      );
      const end = Date.now() + 10_000;
      let rounds = 0;
      while (Date.now() < end && rounds < 100) {
        rounds++;
        const a = new Kernel({
          store,
          workflows: [wf],
          clock,
          worker: { pollMs: 3_600_000, leaseMs: 3_600_000 },
          onError: () => {},
          logger: () => {},
        }).startWorker();
        const before = starts;
        const run = await a.start(wf, null);
        await until(() => starts === before + 1, "the step on A");
        // A claim pass is under way (or about to be) when close() is called.
        a.worker?.signal();
        await a.close();
        const status = await statusOf(admin, run.id);
        assert.equal(status, "pending", `round ${rounds}: the run is handed back when close() resolves`);
        await admin.cancel(run.id);
      }
      assert.ok(rounds >= 5, `${rounds} rounds`);
    });
  });
}
