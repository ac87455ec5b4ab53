import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, Kernel, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { closes, statusOf, tempStore, until } from "./helpers.ts";

export function versioning(backend: Backend): void {
  test("a run is pinned to its version: v1 runs wait (visibly) while only v2 workers run, and finish on a v1 worker", async (t) => {
    const { store, open } = await tempStore(t, backend);
    const ran: string[] = [];
    const v1 = workflow(
      "deploy",
      async (ctx, n: number) => {
        await ctx.step("build", () => ran.push(`v1 build ${n}`));
        await ctx.sleep("soak", "1h");
        return ctx.step("ship", () => (ran.push(`v1 ship ${n}`), `v1:${n}`));
      },
      { version: "1" },
    );
    const v2 = workflow(
      "deploy",
      async (ctx, n: number) => {
        await ctx.step("compile", () => ran.push(`v2 compile ${n}`)); // a change that would not replay v1's journal
        await ctx.sleep("soak", "1h");
        return ctx.step("ship", () => (ran.push(`v2 ship ${n}`), `v2:${n}`));
      },
      { version: "2" },
    );
    const clock = new FakeClock();
    const opts = (id: string) => ({ clock, worker: { pollMs: 3_600_000, id }, onError: () => {} });
    const w1 = new Kernel({ store, workflows: [v1], ...opts("w1") }).startWorker();
    const a = await w1.start(v1, 1);
    const b = await w1.start(v1, 2);
    await until(
      async () => (await statusOf(w1, a.id)) === "suspended" && (await statusOf(w1, b.id)) === "suspended",
      "v1 runs asleep",
    );
    assert.equal((await w1.getRun(a.id))?.version, "1");
    await w1.close(); // the v1 fleet is replaced by v2

    const w2 = closes(t, new Kernel({ store: await open(), workflows: [v2], ...opts("w2") }).startWorker());
    const c = await w2.start(v2, 3);
    await until(async () => (await statusOf(w2, c.id)) === "suspended", "the v2 run asleep");
    await clock.advance(3_600_000);
    assert.equal(await c.result(), "v2:3");
    w2.worker?.signal();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      [await statusOf(w2, a.id), await statusOf(w2, b.id)],
      ["suspended", "suspended"],
      "v2 never replays a v1 run",
    );
    const unserved = await w2.unservedRuns();
    assert.deepEqual(
      unserved.map((r) => [r.id, r.version]).sort(),
      [
        [a.id, "1"],
        [b.id, "1"],
      ].sort(),
    );
    // Heartbeats ride on lease renewals, which a jump of the fake clock can outpace: ask for every recorded worker.
    assert.deepEqual(
      (await w2.workers(Number.POSITIVE_INFINITY)).map((w) => [w.id, w.workflows]),
      [["w2", { deploy: "2" }]],
    );

    const w3 = closes(t, new Kernel({ store: await open(), workflows: [v1], ...opts("w3") }).startWorker());
    assert.deepEqual(await Promise.all([w3.result(a.id), w3.result(b.id)]), ["v1:1", "v1:2"]);
    assert.deepEqual(
      ran.filter((x) => x.startsWith("v2")),
      ["v2 compile 3", "v2 ship 3"],
      "v2 code only ever ran the v2 run",
    );
    assert.deepEqual(await w2.unservedRuns(), []);
  });

  test("a run started without code (by a schedule) is pinned to the version of the first worker that claims it", async (t) => {
    const { store } = await tempStore(t, backend);
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const job = workflow("job", async (ctx) => ctx.step("x", () => 1), { version: "7" });
    const k = closes(
      t,
      new Kernel({ store, workflows: [job], clock, worker: { pollMs: 3_600_000 }, onError: () => {} }).startWorker(),
    );
    await k.schedules.create({ id: "s", workflow: "job", cron: "* * * * *" });
    await clock.advance(60_000);
    await until(async () => (await k.listRuns({ status: "completed" })).length === 1, "the scheduled run");
    assert.equal((await k.listRuns())[0]?.version, "7");
  });
}
