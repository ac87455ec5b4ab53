import assert from "node:assert/strict";
import { test } from "node:test";
import { type GroupResult, Kernel, type Store, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { closes, fakeKernel, gate, tempStore, until } from "./helpers.ts";

/** Counts `store`'s commits, and whether any answered a lane's end stamp (a store that stamps its lanes: Postgres). */
function spy(
  store: Store,
  hold?: (keys: (string | null | undefined)[]) => Promise<void>,
): { commits: number; stamps: boolean } {
  const seen = { commits: 0, stamps: false };
  const commit = store.commit.bind(store);
  store.commit = async (groups, now) => {
    seen.commits++;
    await hold?.(groups.flatMap((g) => g.ops.flatMap((op) => (op.op === "insertRun" ? [op.run.key] : []))));
    const results: GroupResult[] = await commit(groups, now);
    if (results.some((r) => r.ok && r.laneEnd !== undefined)) seen.stamps = true;
    return results;
  };
  return seen;
}

/**
 * A read-only (unmarked) step of a laned run started here reads before the commit that admits the run
 * only when that commit can tell whether a run of the lane ended in between (the lane's end stamp this
 * process saw is unchanged), and reads again when one did: its result is always what a read made once
 * admitted would give. A store that reports no stamps (SQLite) reads after admission.
 */
export function laneReads(backend: Backend): void {
  test("a laned run's read-only first step reads while its insert commits once this process saw its lane's last end", async (t) => {
    const { store } = await tempStore(t, backend);
    const seen = spy(store);
    const at: number[] = [];
    const wf = workflow(
      "lane.early",
      async (ctx, n: number) => {
        const read = await ctx.step("read", () => (at.push(seen.commits), n), { startMarker: false });
        return ctx.step("write", () => read + 1);
      },
      { concurrency: { key: () => "session", limit: 1 } },
    );
    const { kernel } = fakeKernel(t, store, [wf]);
    assert.equal(await (await kernel.start(wf, 1)).result(), 2);
    const c0 = seen.commits;
    const run = await kernel.start(wf, 5);
    assert.equal(await run.result(), 6);
    // Its result waits for the verdict of the insert's commit either way: the read overlaps that commit, it does not ride on it.
    if (seen.stamps) assert.equal(at[1], c0, "the read began before the run's first commit");
    else assert.equal(at[1], c0 + 1, "no stamps: the read waited for the commit that admits the run");
    assert.equal(seen.commits - c0, 3, "the insert; the read's result with the write's marker; the end");
    assert.deepEqual(
      (await kernel.journal(run.id)).map((e) => [e.name, e.status, e.attempt, e.value]),
      [
        ["read", "completed", 1, 5],
        ["write", "completed", 1, 6],
      ],
    );
  });

  test("a laned run's early read is made again when a run of its lane ended before the commit that admits it", async (t) => {
    const { store, open } = await tempStore(t, backend);
    let state = "before";
    const reads: string[] = [];
    const hold = gate();
    const wf = workflow(
      "lane.stale",
      async (ctx, n: number) => {
        const read = await ctx.step(
          "read",
          () => {
            reads.push(`${n} ${state}`);
            return state;
          },
          { startMarker: false },
        );
        await ctx.step("write", async () => {
          if (n !== 2) return;
          await hold.promise;
          state = "after";
        });
        return read;
      },
      { concurrency: { key: () => "session", limit: 1 } },
    );
    // The third run's insert is held until the second run, on another worker, has ended.
    const inserted = gate();
    const seen = spy(store, async (keys) => {
      if (keys.includes("m3")) await inserted.promise;
    });
    const { kernel } = fakeKernel(t, store, [wf]);
    const { kernel: other } = fakeKernel(t, await open(), [wf]);
    assert.equal(await (await kernel.start(wf, 1)).result(), "before");
    const second = await other.start(wf, 2);
    await until(() => reads.includes("2 before"), "the second run to hold the lane");
    const starting = kernel.start(wf, 3, { key: "m3" });
    if (seen.stamps) await until(() => reads.includes("3 before"), "the third run's early read");
    hold.open();
    assert.equal(await second.result(), "before");
    inserted.open();
    const run = await starting;
    assert.equal(await run.result(), "after", "the third run's read saw the second run's write");
    assert.deepEqual(
      reads.filter((r) => r.startsWith("3 ")),
      seen.stamps ? ["3 before", "3 after"] : ["3 after"],
      "read early, and again once admitted after a run of the lane ended",
    );
    assert.deepEqual(
      (await kernel.journal(run.id)).map((e) => [e.name, e.status, e.attempt, e.value]),
      [
        ["read", "completed", 1, "after"],
        ["write", "completed", 1, null],
      ],
    );
  });
  test("hammered from two workers, one lane: every run's read sees the writes of every run before it", async (t) => {
    const { store, open } = await tempStore(t, backend);
    let writes = 0;
    const nap = () => new Promise((r) => setTimeout(r, Math.random() * 2));
    const wf = workflow(
      "lane.hammer",
      async (ctx, _n: number) => {
        const seen = await ctx.step("read", () => writes, { startMarker: false });
        await ctx.step("write", async () => {
          await nap();
          writes++;
        });
        return seen;
      },
      { concurrency: { key: () => "session", limit: 1 } },
    );
    const errors: string[] = [];
    const kernels = [store, await open()].map((s) =>
      closes(
        t,
        new Kernel({
          store: s,
          workflows: [wf],
          worker: { pollMs: 50, concurrency: 20 },
          onError: (e, where) => errors.push(`${where}: ${e}`),
          logger: () => {},
          retention: false,
        }).startWorker(),
      ),
    );
    const t0 = Date.now();
    const results: number[] = [];
    // Each worker in turn starts the next run once the one before ended (a session's turns, received by
    // either); every third time the other worker starts one more a moment later, while the first may be
    // ending: its read may begin before that end and its insert commit after it.
    for (let n = 0; n < 60 && Date.now() - t0 < 30_000; n++) {
      const w = (n * 7) % 3 === 0 ? 1 : 0;
      const run = await (kernels[w] as Kernel).start(wf, n);
      if (n % 3 === 2) {
        await new Promise((r) => setTimeout(r, Math.random() * 4));
        const next = await (kernels[1 - w] as Kernel).start(wf, n + 1000);
        results.push((await run.result()) as number, (await next.result()) as number);
      } else results.push((await run.result()) as number);
    }
    assert.deepEqual(
      results,
      results.map((_, i) => i),
      "each read saw exactly the writes of the runs before it",
    );
    assert.deepEqual(errors, []);
  });
}
