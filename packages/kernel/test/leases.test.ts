import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runConformance } from "@agentd/kernel/conformance";
import pg from "pg";
import { workflow } from "../src/index.ts";
import { BACKENDS, pgUrl, postgres } from "./backends.ts";
import { fakeKernel, gate, tempStore, until } from "./helpers.ts";

for (const backend of BACKENDS) runConformance(backend, { only: ["leases"] });

describe("postgres: renewal of a busy run", () => {
  test("a lease is extended even when a commit holds the run's row as the renewal comes", {
    skip: !pgUrl && "no Postgres answers (set DATABASE_URL)",
  }, async (t) => {
    const { store, where } = await tempStore(t, postgres);
    const held = gate<number>();
    let started = false;
    const wf = workflow("busy", async (ctx) => ctx.step("s", () => ((started = true), held.promise)));
    const { kernel, clock } = fakeKernel(t, store, [wf], { worker: { leaseMs: 3_000 } });
    const run = await kernel.start(wf, null);
    await until(() => started, "the step to start");
    const pgStore = store as unknown as {
      query(sql: string, args?: unknown[]): Promise<{ lease_expires_at: number }[]>;
    };
    const lease = async () =>
      Number((await pgStore.query("SELECT lease_expires_at FROM runs WHERE id = $1", [run.id]))[0]?.lease_expires_at);
    const before = await lease();
    // Another transaction (as a commit of the run's own writes would) holds the row when the renewal runs.
    const c = new pg.Client({
      connectionString: pgUrl as string,
      options: `-c search_path=${where.match(/schema (\w+)$/)?.[1]}`,
    });
    await c.connect();
    t.after(() => c.end());
    await c.query("BEGIN");
    await c.query("SELECT id FROM runs WHERE id = $1 FOR UPDATE", [run.id]);
    const renewal = clock.advance(1_000);
    await new Promise((r) => setTimeout(r, 200));
    await c.query("COMMIT");
    await renewal;
    await until(async () => (await lease()) > before, "the lease to be extended once the row is free");
    held.open(1);
    assert.equal(await run.result(), 1);
  });
});
