import assert from "node:assert/strict";
import { test } from "node:test";
import { runConformance } from "@agentd/kernel/conformance";
import { workflow } from "../src/index.ts";
import type { PostgresStore } from "../src/store/postgres/index.ts";
import { type Backend, BACKENDS, pgUrl } from "./backends.ts";
import { fakeKernel, tempStore } from "./helpers.ts";

for (const backend of BACKENDS) runConformance(backend, { only: ["lane-reads"] });

test("postgres: retention deletes a lane's end stamp with its runs, and keeps that of a lane still running", {
  skip: pgUrl ? false : "no Postgres reachable",
}, async (t) => {
  const { store } = await tempStore(t, BACKENDS.find((b) => b.name === "postgres") as Backend);
  const wf = workflow("lane.kept", async (ctx, n: number) => ctx.step("s", () => n), {
    concurrency: { key: (n) => `lane-${n % 2}`, limit: 1 },
  });
  const { kernel } = fakeKernel(t, store, [wf]);
  for (let n = 0; n < 4; n++) assert.equal(await (await kernel.start(wf, n)).result(), n);
  const pgStore = store as unknown as PostgresStore;
  const lanes = async () =>
    (await pgStore.query<{ key: string }>("SELECT key FROM kernel_lanes ORDER BY key")).map((r) => r.key);
  assert.deepEqual(await lanes(), ["default:lane-0", "default:lane-1"], "each lane stamped by its runs' ends");
  // A run of lane-1 not ended (no worker serves it here): lane-1's stamp stays.
  const held = workflow("lane.held", async (ctx) => ctx.step("s", () => 0), {
    concurrency: { key: () => "lane-1", limit: 1 },
  });
  const { kernel: client } = fakeKernel(t, store, [held], { worker: false });
  await client.start(held, null);
  const scope = { workflow: "lane.kept", namespace: null, exceptWorkflows: [], exceptNamespaces: [] };
  assert.equal(
    await store.deleteEndedRuns({ ...scope, status: "completed", endedBefore: Date.now() + 1, limit: 100 }),
    4,
  );
  assert.deepEqual(await lanes(), ["default:lane-1"]);
});
