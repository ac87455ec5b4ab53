import assert from "node:assert/strict";
import { test } from "node:test";
import { FatalError, Kernel, workflow } from "../index.ts";
import type { Backend } from "./backend.ts";
import { closes, tempStore, until } from "./helpers.ts";

// One run's write never touches another run's: a value the store cannot hold, or a batch too large
// for one statement, fails that run alone (with a clear error) or is split, and every error is reported.
export function commitIsolation(backend: Backend): void {
  test("a NUL character in one run's value or error is stored as it reads, and touches none of the runs committed with it", async (t) => {
    const { store } = await tempStore(t, backend);
    const bodies = new Map<string, number>();
    const ran = (id: string) => bodies.set(id, (bodies.get(id) ?? 0) + 1);
    const nul = workflow("nul", async (ctx, kind: "value" | "error") => {
      const v = await ctx.step(
        "v",
        () => (ran(ctx.runId), kind === "value" ? "a\u0000b" : Promise.reject(new FatalError("binary \u0000 body"))),
      );
      return { v };
    });
    const fine = workflow("fine", async (ctx, n: number) => ctx.step("s", () => (ran(ctx.runId), n)));
    const errors: string[] = [];
    const kernel = closes(
      t,
      new Kernel({
        store,
        workflows: [nul, fine],
        worker: { pollMs: 50 },
        onError: (e, where) => errors.push(`${where}: ${e}`),
        logger: () => {},
      }).startWorker(),
    );
    for (let round = 0; round < 5; round++) {
      const handles = await Promise.all([
        kernel.start(nul, "value"),
        kernel.start(nul, "error"),
        ...Array.from({ length: 40 }, (_, i) => kernel.start(fine, i)),
      ]);
      const [value, error, ...others] = handles;
      assert.deepEqual(await value!.result(), { v: "a\u0000b" }, "the value is stored faithfully");
      await assert.rejects(error!.result(), /FatalError: binary \u2400 body/);
      const failed = await kernel.getRun(error!.id);
      assert.match(
        failed?.error?.message ?? "",
        /binary \u2400 body/,
        "its own error, the NUL shown as ␀, not WorkerLost",
      );
      assert.deepEqual(
        await Promise.all(others.map((h) => h.result())),
        Array.from({ length: 40 }, (_, i) => i),
      );
    }
    assert.ok(
      [...bodies.values()].every((n) => n === 1),
      "every body ran exactly once",
    );
    assert.deepEqual(errors, []);
  });

  test("a NUL character in a key, a namespace or an event's name is refused before anything is stored", async (t) => {
    const { store } = await tempStore(t, backend);
    const fine = workflow("fine", async (ctx, n: number) => ctx.step("s", () => n));
    const kernel = closes(
      t,
      new Kernel({ store, workflows: [fine], worker: false, onError: () => {}, logger: () => {} }),
    );
    await assert.rejects(
      kernel.start(fine, 1, { key: "a\u0000" }),
      (e: Error & { code?: string }) => e.code === "invalid_argument" && /NUL/.test(e.message),
    );
    await assert.rejects(
      kernel.start(fine, 1, { namespace: "t\u0000" }),
      (e: Error & { code?: string }) => e.code === "invalid_argument" && /NUL/.test(e.message),
    );
    const run = await kernel.start(fine, 1);
    await assert.rejects(
      kernel.sendEvent(run.id, "go\u0000"),
      (e: Error & { code?: string }) => e.code === "invalid_argument" && /NUL/.test(e.message),
    );
    assert.equal((await kernel.listRuns()).length, 1);
  });

  test("a run whose writes the store refuses fails alone, with the reason; the runs committed with it are untouched", async (t) => {
    const { store } = await tempStore(t, backend);
    // The store refuses any batch holding a poisoned value as Postgres refuses data it cannot hold (SQLSTATE class 22).
    const commit = store.commit.bind(store);
    let refusals = 0;
    store.commit = async (groups, now) => {
      if (groups.some((g) => g.ops.some((o) => o.op === "putEntry" && o.entry.value?.includes("POISON")))) {
        refusals++;
        throw Object.assign(new Error("unsupported Unicode escape sequence"), { code: "22P05" });
      }
      return commit(groups, now);
    };
    const bodies = new Map<string, number>();
    const poisoned = workflow("poisoned", async (ctx) =>
      ctx.step("p", () => (bodies.set(ctx.runId, (bodies.get(ctx.runId) ?? 0) + 1), "POISON")),
    );
    const fine = workflow("fine", async (ctx, n: number) =>
      ctx.step("s", () => (bodies.set(ctx.runId, (bodies.get(ctx.runId) ?? 0) + 1), n)),
    );
    const errors: string[] = [];
    const kernel = closes(
      t,
      new Kernel({
        store,
        workflows: [poisoned, fine],
        worker: { pollMs: 50 },
        onError: (e, where) => errors.push(`${where}: ${e}`),
        logger: () => {},
      }).startWorker(),
    );
    const [p, ...others] = await Promise.all([
      kernel.start(poisoned, null),
      ...Array.from({ length: 30 }, (_, i) => kernel.start(fine, i)),
    ]);
    assert.deepEqual(
      await Promise.all(others.map((o) => o.result())),
      Array.from({ length: 30 }, (_, i) => i),
    );
    await assert.rejects(
      p!.result(),
      /the store refused the writes of run .*\(unsupported Unicode escape sequence \[22P05\]\), so the run failed/,
    );
    assert.equal((await kernel.getRun(p!.id))?.error?.code, "store_refused");
    assert.ok(refusals >= 1);
    assert.ok(
      [...bodies.values()].every((n) => n === 1),
      "no body ran twice",
    );
    assert.ok(
      errors.some((e) => /committing the writes of/.test(e)),
      "the refusal reached onError",
    );
  });

  // Postgres only: one statement there carries at most 256 MB of jsonb (SQLite has no such limit, and the test costs a minute on it).
  test("results near the value limit finishing together are committed in bounded batches, each body run once", {
    timeout: 180_000,
    skip: backend.name !== "postgres",
  }, async (t) => {
    const { store } = await tempStore(t, backend);
    const bodies = new Map<string, number>();
    const big = workflow("big", async (ctx, n: number) => {
      const v = await ctx.step(
        "big",
        () => (bodies.set(ctx.runId, (bodies.get(ctx.runId) ?? 0) + 1), String(n % 10).repeat(1_000_000)),
      );
      return v.length;
    });
    const errors: string[] = [];
    const kernel = closes(
      t,
      new Kernel({
        store,
        workflows: [big],
        worker: { pollMs: 50 },
        onError: (e, where) => errors.push(`${where}: ${e}`),
        logger: () => {},
      }).startWorker(),
    );
    const n = 280; // ~280 MB of results in one turn: above Postgres' 256 MB jsonb limit for one statement
    const handles = await Promise.all(Array.from({ length: n }, (_, i) => kernel.start(big, i)));
    await until(
      async () => (await kernel.listRuns({ status: ["pending", "running", "suspended"], limit: 1 })).length === 0,
      "every run to end",
      100_000,
    );
    const failed = await kernel.listRuns({ status: "failed", limit: 5 });
    assert.deepEqual(
      failed.map((r) => r.error?.message),
      [],
    );
    assert.equal(bodies.size, n);
    assert.ok(
      [...bodies.values()].every((c) => c === 1),
      "no body ran twice",
    );
    assert.deepEqual(errors, []);
    assert.equal(await handles[7]!.result(), 1_000_000);
  });
}
