import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, Kernel, type Store, type WriteOp, workflow } from "../index.ts";
import { closes, fakeKernel, gate, statusOf, tempStore, until } from "./helpers.ts";
import type { Backend } from "./backend.ts";

/** Every write the kernel commits to `store`, by run; `commits` counts the calls (claims and reads aside). */
function spyWrites(store: Store): { runId: string; op: WriteOp }[] & { commits: number } {
  const seen = Object.assign([] as { runId: string; op: WriteOp }[], { commits: 0 });
  const commit = store.commit.bind(store);
  store.commit = (groups, now) => {
    seen.commits++;
    for (const g of groups) for (const op of g.ops) seen.push({ runId: g.runId, op });
    return commit(groups, now);
  };
  return seen;
}

const markers = (seen: { op: WriteOp }[], name: string) =>
  seen.filter((w) => w.op.op === "putEntry" && w.op.entry.name === name && w.op.entry.status === "running").length;

/** Steps with `startMarker: false`: the body runs with no durable attempt marker first, its result journaled once. */
export function unmarkedSteps(backend: Backend): void {
  test("an unmarked first step runs before any commit of a run started here; its result is journaled, no marker", async (t) => {
    const { store } = await tempStore(t, backend);
    const seen = spyWrites(store);
    const at: Record<string, number> = {};
    const wf = workflow("unmarked.first", async (ctx, n: number) => {
      const a = await ctx.step("read", () => ((at.read = seen.commits), n + 1), { startMarker: false });
      const b = await ctx.step("write", () => ((at.write = seen.commits), a * 2));
      return b;
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    await (await kernel.start(wf, 0)).result(); // warm
    const c0 = seen.commits;
    const run = await kernel.start(wf, 4);
    assert.equal(await run.result(), 10);
    assert.equal(at.read, c0, "the unmarked step's body began before the run's first commit");
    // A body that returns at once: its result rides on the insert's commit, with the next step's marker.
    assert.equal(at.write, c0 + 1, "the marked step's body waited for one commit: insert, read's result, its marker");
    assert.equal(seen.commits - c0, 2, "two commits for the run (three with the read marked)");
    assert.equal(markers(seen, "read"), 0, "no attempt marker for the unmarked step");
    assert.equal(markers(seen, "write"), 2, "one marker for the marked step, per run");
    const journal = await kernel.journal(run.id);
    assert.deepEqual(
      journal.map((e) => [e.seq, e.name, e.status, e.attempt, e.value]),
      [
        [1, "read", "completed", 1, 5],
        [2, "write", "completed", 1, 10],
      ],
    );
  });

  test("an unmarked step that fails is retried with its attempts journaled, never a marker", async (t) => {
    const { store } = await tempStore(t, backend);
    const seen = spyWrites(store);
    let calls = 0;
    const wf = workflow(
      "unmarked.retry",
      async (ctx) =>
        ctx.step(
          "flaky",
          () => {
            if (++calls < 3) throw new Error(`boom ${calls}`);
            return calls;
          },
          { startMarker: false },
        ),
      { retry: { maxAttempts: 3, initialInterval: "1s" } },
    );
    const { kernel, clock } = fakeKernel(t, store, [wf]);
    const run = await kernel.start(wf, null);
    await until(async () => (await kernel.journal(run.id))[0]?.status === "retrying", "the first failure journaled");
    // The clock moves on until the back-offs are over (each advance fires what falls due in it).
    await until(async () => {
      await clock.advance(10_000);
      return (await kernel.journal(run.id))[0]?.status === "completed";
    }, "the step to complete after its retries");
    assert.equal(await run.result(), 3);
    assert.equal(markers(seen, "flaky"), 0);
    const [e] = await kernel.journal(run.id);
    assert.deepEqual([e?.status, e?.attempt, e?.error?.message], ["completed", 3, "boom 2"]);
  });

  test("an unmarked step beside a marked one: recorded in any order, replayed without running either body", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const calls = { slow: 0, fast: 0 };
    const slow = gate();
    const wf = workflow("unmarked.parallel", async (ctx) => {
      // The marked step (seq 2) is written before the unmarked one (seq 1) has a row.
      const [a, b] = await Promise.all([
        ctx.step("slow", async () => (calls.slow++, await slow.promise, "a"), { startMarker: false }),
        ctx.step("fast", () => (calls.fast++, "b")),
      ]);
      await ctx.sleep("nap", "1h");
      return a + b;
    });
    const clock = new FakeClock();
    const first = new Kernel({ store, workflows: [wf], clock, worker: { pollMs: 3_600_000 }, logger: () => {} });
    first.startWorker();
    const run = await first.start(wf, null);
    await until(
      async () => (await first.journal(run.id)).some((e) => e.name === "fast" && e.status === "completed"),
      "b",
    );
    slow.open();
    await until(async () => (await statusOf(first, run.id)) === "suspended", "the run to suspend in its sleep");
    await first.close();
    const second = closes(
      t,
      new Kernel({ store: await open(), workflows: [wf], clock, worker: { pollMs: 3_600_000 }, logger: () => {} }),
    ).startWorker();
    await clock.advance(3_600_000);
    assert.equal(await second.result(run.id), "ab");
    assert.deepEqual(calls, { slow: 1, fast: 1 }, "neither body ran again on replay");
    assert.deepEqual(
      (await second.journal(run.id)).map((e) => [e.seq, e.name, e.status]),
      [
        [1, "slow", "completed"],
        [2, "fast", "completed"],
        [3, "nap", "completed"],
      ],
    );
  });

  test("an unmarked step of a run with a lane never runs while the lane's previous run holds it here", async (t) => {
    const { store } = await tempStore(t, backend);
    const order: string[] = [];
    const rows: string[] = [];
    const first = gate();
    const wf = workflow(
      "unmarked.lane",
      async (ctx, n: number) => {
        const seen = await ctx.step(
          "read",
          async ({ runId }) => {
            order.push(`read ${n}`);
            const row = await store.getRun(runId);
            if (n === 2) rows.push(`${row?.status} ${row?.queued}`);
            return order.length;
          },
          { startMarker: false },
        );
        await ctx.step("write", async () => {
          order.push(`write ${n}`);
          if (n === 1) await first.promise;
        });
        return seen;
      },
      { concurrency: { key: () => "session", limit: 1 } },
    );
    const { kernel } = fakeKernel(t, store, [wf]);
    // A run of the lane ended here first: a store that stamps its lanes' ends lets the next run read early.
    await (await kernel.start(wf, 0)).result();
    const one = await kernel.start(wf, 1);
    await until(() => order.includes("write 1"), "the first run to hold its lane");
    const two = await kernel.start(wf, 2);
    assert.equal((await store.getRun(two.id))?.queued, true, "queued behind the first run");
    assert.ok(!order.includes("read 2"), "no read while the lane's previous run holds it");
    first.open();
    assert.equal(await one.result(), 3);
    assert.equal(await two.result(), 5);
    assert.deepEqual(
      order,
      ["read 0", "write 0", "read 1", "write 1", "read 2", "write 2"],
      "one run at a time, reads included",
    );
    assert.deepEqual(rows, ["running false"], "the queued run read once inserted and admitted");
    assert.deepEqual(
      (await kernel.journal(two.id)).map((e) => [e.name, e.status, e.attempt]),
      [
        ["read", "completed", 1],
        ["write", "completed", 1],
      ],
    );
  });
}
