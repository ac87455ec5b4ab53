/**
 * The child process the crash test kills: one kernel worker on the test's SQLite file.
 *
 *   node worker.ts <db file> <side-effect log>
 *
 * Sends { type: "ready" } over IPC once its worker runs; on { type: "stop" } it closes the kernel
 * and exits 0. Leases are short so that a restarted worker takes the dead one's runs over quickly.
 */
import { Kernel, openSqliteStore } from "../../src/index.ts";
import { crashWorkflows } from "./workflows.ts";

const [dbPath, logPath] = process.argv.slice(2);
if (!dbPath || !logPath || !process.send) {
  console.error("usage: node worker.ts <db file> <side-effect log> (spawned with an IPC channel)");
  process.exit(2);
}

const store = await openSqliteStore(dbPath);
const { main, child } = crashWorkflows(logPath);
const kernel = new Kernel({
  store,
  workflows: [main, child],
  worker: { leaseMs: 1_000, pollMs: 50 },
  onError: (e, where) =>
    console.error(`worker ${process.pid}: kernel error while ${where}: ${e instanceof Error ? e.stack : String(e)}`),
});
kernel.startWorker();

process.on("message", (m: { type?: string }) => {
  if (m?.type !== "stop") return;
  void (async () => {
    await kernel.close();
    await store.close();
    process.exit(0);
  })();
});
// The test is gone: do not outlive it.
process.on("disconnect", () => process.exit(3));
process.send({ type: "ready", pid: process.pid });
