import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { test } from "node:test";
import { runConformance } from "@agentd/kernel/conformance";
import { Kernel, workflow } from "../src/index.ts";
import { BACKENDS } from "./backends.ts";
import { closes, tempStore, until } from "./helpers.ts";

for (const backend of BACKENDS) runConformance(backend, { only: ["lane-start"] });

// A worker SIGKILLed just after it started a laned run on itself: the run holds its lane only for its
// lease, then another worker recovers it, and the run queued behind it runs after it.
for (const backend of BACKENDS)
  test(`${backend.name}: a worker killed right after a local laned start: the run is recovered by another worker, its lane kept`, async (t) => {
    const { store, where } = await tempStore(t, backend);
    const child = fork(new URL("./procs/lane-starter.ts", import.meta.url).pathname, [backend.name, where], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    t.after(() => child.kill("SIGKILL"));
    const messages: { started?: string; worker?: string; claimed?: boolean; began?: number }[] = [];
    child.on("message", (m) => messages.push(m as (typeof messages)[0]));
    await until(() => messages.length > 0, "the worker process to be ready", 20_000);
    child.send({ start: 1 });
    await until(
      () => messages.some((m) => m.began === 1) && messages.some((m) => m.started),
      "the first run to be started and its step to begin in the worker process",
    );
    const started = messages.find((m) => m.started) as { started: string; worker: string; claimed: boolean };
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;

    const before = await store.getRun(started.started);
    assert.deepEqual(
      [before?.status, before?.epoch, before?.leaseOwner, before?.queued, started.claimed],
      ["running", 1, started.worker, false, false],
      "inserted running, claimed by the worker that received it (no claim)",
    );
    const order: string[] = [];
    const held = workflow(
      "held",
      async (ctx, n: number) => {
        await ctx.step("begin", () => order.push(`begin ${n}`));
        await ctx.step("end", () => order.push(`end ${n}`));
        return n;
      },
      { concurrency: { key: () => "session", limit: 1 } },
    );
    // Started while the dead worker's lease still holds the lane: it queues.
    const client = closes(t, new Kernel({ store, workflows: [held], worker: false, logger: () => {} }));
    const second = await client.start(held, 2, { key: "m2" });
    assert.equal((await store.getRun(second.id))?.queued, true);
    const t0 = Date.now();
    const rescuer = closes(
      t,
      new Kernel({ store, workflows: [held], worker: { leaseMs: 1_000, pollMs: 50 }, logger: () => {} }),
    ).startWorker();
    assert.equal(await rescuer.result(started.started), 1);
    assert.equal(await rescuer.result(second.id), 2);
    const ms = Date.now() - t0;
    assert.ok(ms < 10_000, `recovered in ${ms} ms (the lease is 1 s)`);
    assert.deepEqual(order, ["begin 1", "end 1", "begin 2", "end 2"], "one at a time, in the order started");
    assert.ok(((await store.getRun(started.started))?.epoch ?? 0) >= 2, "taken over at a later epoch");
  });
