import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { test } from "node:test";
import { Kernel, workflow } from "../src/index.ts";
import { BACKENDS } from "./backends.ts";
import { closes, tempStore, until } from "./helpers.ts";

// A worker SIGKILLed while the body of a step runs, the step allowed one attempt. A marked step's
// attempt was made durable before its body ran, so the crash spent it and the run fails; an unmarked
// step (`startMarker: false`) left no trace of its attempt: the worker that recovers it runs it again.
for (const backend of BACKENDS)
  for (const marker of ["unmarked", "marked"] as const)
    test(`${backend.name}: a worker killed during ${marker === "unmarked" ? "an unmarked" : "a marked"} step's body: the step ${marker === "unmarked" ? "runs again" : "spent its only attempt"}`, async (t) => {
      const { store, where } = await tempStore(t, backend);
      const child = fork(
        new URL("./procs/unmarked-worker.ts", import.meta.url).pathname,
        [backend.name, where, marker],
        {
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        },
      );
      t.after(() => child.kill("SIGKILL"));
      const messages: { started?: string; began?: number }[] = [];
      child.on("message", (m) => messages.push(m as (typeof messages)[0]));
      await until(() => messages.length > 0, "the worker process to be ready", 20_000);
      child.send({ start: 1 });
      await until(
        () => messages.some((m) => m.began === 1) && messages.some((m) => m.started),
        "the run to be started and its step's body to begin in the worker process",
      );
      const id = (messages.find((m) => m.started) as { started: string }).started;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      const entries = await store.loadJournal(id);
      assert.deepEqual(
        entries.map((e) => [e.name, e.status, e.attempt]),
        marker === "marked" ? [["read", "running", 1]] : [],
        "what the dead worker left of the step",
      );

      let ran = 0;
      const probe = workflow(
        "probe",
        async (ctx, n: number) => ctx.step("read", () => (ran++, n * 10), { startMarker: marker === "marked" }),
        { retry: { maxAttempts: 1 } },
      );
      const t0 = Date.now();
      const rescuer = closes(
        t,
        new Kernel({ store, workflows: [probe], worker: { leaseMs: 1_000, pollMs: 50 }, logger: () => {} }),
      ).startWorker();
      if (marker === "unmarked") {
        assert.equal(await rescuer.result(id), 10);
        assert.equal(ran, 1, "the body ran again on the worker that recovered the run");
        const [e] = await store.loadJournal(id);
        assert.deepEqual([e?.status, e?.attempt], ["completed", 1]);
      } else {
        await assert.rejects(rescuer.result(id), /WorkerLost|worker stopped/);
        assert.equal(ran, 0, "the body did not run again: its one attempt was spent by the crash");
      }
      const ms = Date.now() - t0;
      assert.ok(ms < 10_000, `recovered in ${ms} ms (the lease is 1 s)`);
    });
