import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FatalError, Kernel, workflow } from "../src/index.ts";
import { BACKENDS } from "./backends.ts";
import { closes, tempStore, until } from "./helpers.ts";

// One run's write never touches another run's: a value the store cannot hold, or a batch too large
// for one statement, fails that run alone (with a clear error) or is split, and every error is reported.
for (const backend of BACKENDS) describe(backend.name, () => {
  test("a NUL character in one run's value or error does not touch the runs committed with it", async (t) => {
    const { store } = await tempStore(t, backend);
    const bodies = new Map<string, number>();
    const ran = (id: string) => bodies.set(id, (bodies.get(id) ?? 0) + 1);
    const nul = workflow("nul", async (ctx, kind: "value" | "error") => {
      const v = await ctx.step("v", () => (ran(ctx.runId), kind === "value" ? "a\u0000b" : Promise.reject(new FatalError("binary \u0000 body"))));
      return { v };
    });
    const fine = workflow("fine", async (ctx, n: number) => ctx.step("s", () => (ran(ctx.runId), n)));
    const errors: string[] = [];
    const kernel = closes(t, new Kernel({ store, workflows: [nul, fine], worker: { pollMs: 50 }, onError: (e, where) => errors.push(`${where}: ${e}`), logger: () => {} }).startWorker());
    for (let round = 0; round < 5; round++) {
      const handles = await Promise.all([
        kernel.start(nul, "value"), kernel.start(nul, "error"),
        ...Array.from({ length: 40 }, (_, i) => kernel.start(fine, i)),
      ]);
      const [value, error, ...others] = handles;
      assert.deepEqual(await value!.result(), { v: "a\u0000b" }, "the value is stored faithfully");
      await assert.rejects(error!.result(), (e: Error) => /binary \u0000 body/.test(e.message) || /store refused the writes of run/.test(e.message));
      const failed = await kernel.getRun(error!.id);
      assert.ok(failed?.error?.code === "store_refused" || failed?.error?.message.includes("\u0000"), `a clear error, not WorkerLost: ${failed?.error?.message}`);
      assert.deepEqual(await Promise.all(others.map((h) => h.result())), Array.from({ length: 40 }, (_, i) => i));
    }
    assert.ok([...bodies.values()].every((n) => n === 1), "every body ran exactly once");
    if (errors.length > 0) assert.match(errors[0]!, /committing the writes of/, "a refused batch is reported");
  });

  // Postgres only: one statement there carries at most 256 MB of jsonb (SQLite has no such limit, and the test costs a minute on it).
  test("results near the value limit finishing together are committed in bounded batches, each body run once", { timeout: 180_000, skip: backend.name !== "postgres" }, async (t) => {
    const { store } = await tempStore(t, backend);
    const bodies = new Map<string, number>();
    const big = workflow("big", async (ctx, n: number) => {
      const v = await ctx.step("big", () => (bodies.set(ctx.runId, (bodies.get(ctx.runId) ?? 0) + 1), String(n % 10).repeat(1_000_000)));
      return v.length;
    });
    const errors: string[] = [];
    const kernel = closes(t, new Kernel({ store, workflows: [big], worker: { pollMs: 50 }, onError: (e, where) => errors.push(`${where}: ${e}`), logger: () => {} }).startWorker());
    const n = 280; // ~280 MB of results in one turn: above Postgres' 256 MB jsonb limit for one statement
    const handles = await Promise.all(Array.from({ length: n }, (_, i) => kernel.start(big, i)));
    await until(async () => (await kernel.listRuns({ status: ["pending", "running", "suspended"], limit: 1 })).length === 0, "every run to end", 100_000);
    const failed = await kernel.listRuns({ status: "failed", limit: 5 });
    assert.deepEqual(failed.map((r) => r.error?.message), []);
    assert.equal(bodies.size, n);
    assert.ok([...bodies.values()].every((c) => c === 1), "no body ran twice");
    assert.deepEqual(errors, []);
    assert.equal(await handles[7]!.result(), 1_000_000);
  });
});
