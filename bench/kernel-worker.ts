/**
 * A worker process of the kernel benchmark: one Kernel worker on the database of one measurement.
 *
 *     node bench/kernel-worker.ts '<WorkerSpec as JSON>'     (spawned by bench/kernel.ts with an IPC channel)
 *
 * Sends { type: "ready" } once its worker runs and { type: "error" } for every error the kernel
 * reports; on { type: "stop" } it closes the kernel and the store, sends { type: "stopped" } with the
 * store's counters and exits 0. It exits when its parent goes away.
 */
import { Kernel, type Workflow } from "../packages/kernel/src/index.ts";
import { openStore, sequential, tickWorkflow, type WorkerMessage, type WorkerSpec } from "./shared.ts";

const raw = process.argv[2];
if (!raw || !process.send) {
  process.stderr.write("usage: node bench/kernel-worker.ts '<spec json>' (spawned with an IPC channel)\n");
  process.exit(2);
}
const spec = JSON.parse(raw) as WorkerSpec;
const send = (m: WorkerMessage) => process.send?.(m);

const store = await openStore(spec.store);
const workflows = spec.sequential.map((n) => sequential(n)) as Workflow<never, unknown>[];
if (spec.tick) workflows.push(tickWorkflow as Workflow<never, unknown>);
const kernel = new Kernel({
  store,
  workflows,
  worker: { concurrency: spec.concurrency, ...(spec.pollMs ? { pollMs: spec.pollMs } : {}) },
  onError: (e, where) => send({ type: "error", where, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
}).startWorker();

let stopping = false;
process.on("message", (m: { type?: string }) => {
  if (m?.type !== "stop" || stopping) return;
  stopping = true;
  void (async () => {
    await kernel.close();
    const stats = { ...store.stats };
    await store.close();
    send({ type: "stopped", stats });
    process.disconnect();
    process.exit(0);
  })();
});
// The benchmark is gone: do not outlive it.
process.on("disconnect", () => {
  if (!stopping) process.exit(3);
});
send({ type: "ready", pid: process.pid });
