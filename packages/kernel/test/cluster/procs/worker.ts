/**
 * A worker process of the cluster tests: one kernel worker on the test's Postgres schema.
 *
 *   node worker.ts '<json WorkerConfig>'
 *
 * Sends { type: "ready" } over IPC once its worker runs. Answers { type: "load" } with its worker's
 * load. On { type: "stop" } it closes the kernel (handing its runs back) and exits 0. With `report`,
 * every commit and lease renewal it makes is reported over IPC with what the store answered, so a
 * test can see the writes of this process that the fence refused.
 */
import { Kernel, type Store, type WriteGroup } from "../../../src/index.ts";
import { openPostgresStore } from "../../../src/store/postgres/index.ts";
import { ALL_WORKFLOWS, here } from "./workflows.ts";

export interface WorkerConfig {
  url: string;
  schema: string;
  /** Stable worker id (lease owner). */
  id: string;
  /** This process's side-effect log. */
  log: string;
  leaseMs: number;
  pollMs: number;
  poolSize?: number;
  report?: boolean;
}

const cfg = JSON.parse(process.argv[2] ?? "null") as WorkerConfig | null;
if (!cfg || !process.send) {
  console.error("usage: node worker.ts '<json config>' (spawned with an IPC channel)");
  process.exit(2);
}
here.id = cfg.id;
here.log = cfg.log;
const send = (m: unknown) => process.send?.(m);

const pgStore = await openPostgresStore({ url: cfg.url, schema: cfg.schema, poolSize: cfg.poolSize ?? 5 });
const store: Store = cfg.report ? reporting(pgStore) : pgStore;
const kernel = new Kernel({
  store,
  workflows: ALL_WORKFLOWS,
  worker: { id: cfg.id, leaseMs: cfg.leaseMs, pollMs: cfg.pollMs },
  onError: (e, where) => console.error(`worker ${cfg.id} (pid ${process.pid}): kernel error while ${where}: ${e instanceof Error ? e.message : String(e)}`),
});
kernel.startWorker();

process.on("message", (m: { type?: string }) => {
  if (m?.type === "load") send({ type: "load", ...kernel.worker?.load });
  if (m?.type !== "stop") return;
  void (async () => {
    await kernel.close();
    await pgStore.close();
    process.exit(0);
  })();
});
// The test is gone: do not outlive it.
process.on("disconnect", () => process.exit(3));
send({ type: "ready", id: cfg.id, pid: process.pid });

/** The store, with every commit and renewal reported to the test (the answer included). */
function reporting(s: Store): Store {
  const summary = (groups: WriteGroup[]) =>
    groups.map((g) => ({
      runId: g.runId, epoch: g.epoch, owner: g.owner,
      ops: g.ops.map((op) => (op.op === "putEntry" ? { op: op.op, seq: op.entry.seq, name: op.entry.name, status: op.entry.status, value: op.entry.value } : { op: op.op })),
    }));
  return new Proxy(s, {
    get(target, prop) {
      if (prop === "commit")
        return async (groups: WriteGroup[], now: number) => {
          try {
            const results = await target.commit(groups, now);
            send({ type: "commit", at: Date.now(), groups: summary(groups), results });
            return results;
          } catch (e) {
            send({ type: "commit", at: Date.now(), groups: summary(groups), error: String(e) });
            throw e;
          }
        };
      if (prop === "renewLeases")
        return async (owner: string, runs: { id: string; epoch: number }[], expiresAt: number) => {
          const lost = await target.renewLeases(owner, runs, expiresAt);
          if (runs.length) send({ type: "renew", at: Date.now(), runs, lost });
          return lost;
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
