/**
 * A worker process of the cluster tests: one kernel worker on the test's Postgres schema.
 *
 *   node worker.ts '<json WorkerConfig>'
 *
 * Sends { type: "ready" } over IPC once its worker runs. Answers { type: "load" } with its worker's
 * load and { type: "renewals" } with how its lease renewals went. On { type: "stop" } it closes the
 * kernel (handing its runs back) and exits 0. With `report`,
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
/**
 * How lease renewals went. The longest gap between two that succeeded says how close this worker came
 * to losing its leases; how late a renewal started after the one before it ended (the worker renews
 * every leaseMs / 3) says whether the process was starved of CPU; the slowest renewal, whether the
 * database held it (a lock wait).
 */
const renewals = { ok: 0, failed: 0, slowestMs: 0, maxGapMs: 0, maxLateMs: 0, lastOk: 0, lastEnd: 0 };
const renewEveryMs = Math.floor(cfg.leaseMs / 3);
const store = instrumented(pgStore, cfg.report ?? false);
const kernel = new Kernel({
  store,
  workflows: ALL_WORKFLOWS,
  worker: { id: cfg.id, leaseMs: cfg.leaseMs, pollMs: cfg.pollMs },
  onError: (e, where) =>
    console.error(
      `worker ${cfg.id} (pid ${process.pid}): kernel error while ${where}: ${e instanceof Error ? e.message : String(e)}`,
    ),
  // Errors only: the steps that fail on purpose would log a warning each.
  logger: (r) => r.level === "error" && console.error(`worker ${cfg.id} (pid ${process.pid}): ${JSON.stringify(r)}`),
});
kernel.startWorker();

process.on("message", (m: { type?: string }) => {
  if (m?.type === "load") send({ type: "load", ...kernel.worker?.load });
  if (m?.type === "renewals") send({ type: "renewals", ...renewals });
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

/** The store, with lease renewals timed and, with `report`, every commit and renewal reported to the test (the answer included). */
function instrumented(s: Store, report: boolean): Store {
  const summary = (groups: WriteGroup[]) =>
    groups.map((g) => ({
      runId: g.runId,
      epoch: g.epoch,
      owner: g.owner,
      ops: g.ops.map((op) =>
        op.op === "putEntry"
          ? { op: op.op, seq: op.entry.seq, name: op.entry.name, status: op.entry.status, value: op.entry.value }
          : { op: op.op },
      ),
    }));
  return new Proxy(s, {
    get(target, prop) {
      if (prop === "commit" && report)
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
          const t0 = Date.now();
          if (renewals.lastEnd) renewals.maxLateMs = Math.max(renewals.maxLateMs, t0 - renewals.lastEnd - renewEveryMs);
          let lost: string[];
          try {
            lost = await target.renewLeases(owner, runs, expiresAt);
          } catch (e) {
            renewals.failed++;
            renewals.lastEnd = Date.now();
            throw e;
          }
          const now = Date.now();
          renewals.lastEnd = now;
          renewals.ok++;
          renewals.slowestMs = Math.max(renewals.slowestMs, now - t0);
          if (renewals.lastOk) renewals.maxGapMs = Math.max(renewals.maxGapMs, now - renewals.lastOk);
          renewals.lastOk = now;
          if (report && runs.length) send({ type: "renew", at: now, runs, lost });
          return lost;
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
