/**
 * This tree's kernel against another checkout's, side by side in one process: the 3-step workflow's
 * latency (start to result, one run at a time), each kernel on its own fresh database, alternating in
 * blocks of 20 runs so load from elsewhere on the machine weighs on both alike. What a change to the
 * run path gained, measured on a busy machine. JSON lines on stdout.
 *
 *     node bench/kernel-ab.ts --base /tmp/kbase [--store postgres|sqlite] [--runs 1000] [--lane [--lanes n]] [--key]
 *
 * `--lane` gives the workflow a concurrency lane (limit 1, one lane per run, as an agent turn has one
 * per session; with `--lanes n` the runs take n lanes in turn, as a session's turns follow each other);
 * `--key` starts each run with an idempotency key of its own, as a turn is started.
 * `--read-ms <ms>` makes the first step a read of that long on the same Postgres server (a query of
 * `pg_sleep`, on a client of its own), as a turn's context step reads the OS store; `--unmarked` runs
 * that first step with `startMarker: false` on this tree's side only (the base runs it marked; with
 * `--base-unmarked` unmarked too, to compare two kernels' unmarked steps).
 *
 * `--base` is a checkout holding `packages/kernel` (e.g. `git archive main packages/kernel | tar -x -C
 * /tmp/kbase`, with a `node_modules` link to this tree's). Figures that do not depend on the machine's
 * load: `commits_per_run` (each store's own counters), `client_cpu_ms_per_run` (this process's CPU
 * during each side's blocks) and, for a Postgres on this machine, `server_cpu_ms_per_run` (the CPU time
 * of the side's one pooled connection's server process, from /proc/<pid>/schedstat).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { freshSchema } from "./postgres.ts";
import { summarize } from "./shared.ts";

const { values: argv } = parseArgs({
  options: {
    base: { type: "string" },
    store: { type: "string", default: "postgres" },
    runs: { type: "string", default: "1000" },
    steps: { type: "string", default: "3" },
    lane: { type: "boolean", default: false },
    key: { type: "boolean", default: false },
    "read-ms": { type: "string" },
    unmarked: { type: "boolean", default: false },
    "base-unmarked": { type: "boolean", default: false },
    lanes: { type: "string" },
  },
});
if (!argv.base) throw new Error("--base <checkout> is required: the kernel to compare this tree's with.");
const KIND = argv.store === "sqlite" ? "sqlite" : "postgres";
const RUNS = Number(argv.runs);
const STEPS = Number(argv.steps);
const URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";
const LANES = argv.lanes === undefined ? null : Number(argv.lanes);
const READ_S = argv["read-ms"] === undefined ? null : Number(argv["read-ms"]) / 1000;
const reader = READ_S === null ? null : new pg.Client(URL);
await reader?.connect();

interface KernelModule {
  Kernel: new (o: {
    store: unknown;
    workflows: unknown[];
  }) => {
    startWorker(): {
      start(wf: unknown, i: number, options?: { key?: string }): Promise<{ result(): Promise<unknown> }>;
      close(): Promise<void>;
    };
  };
  workflow: (
    name: string,
    fn: (ctx: any, i: number) => Promise<number>,
    options?: { concurrency?: { key: (i: number) => string; limit: number } },
  ) => unknown;
  openSqliteStore: (o: { path: string; synchronous: string }) => Promise<Store>;
}
interface Store {
  stats: { commits: number; reads: number };
  close(): Promise<void>;
  query?(sql: string): Promise<{ pid: number }[]>;
}

/** CPU time (ms) a process of this machine has used, or null if it is not ours to read. */
function cpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return null;
  }
}

/** One side: a kernel of `root` on a fresh database, with the same workflow as the other side. */
async function side(root: string, head: boolean) {
  const mod = (await import(join(root, "packages/kernel/src/index.ts"))) as KernelModule;
  const tmp = mkdtempSync(join(tmpdir(), "agentd-ab-"));
  const schema = freshSchema("ab");
  const store =
    KIND === "postgres"
      ? ((await (
          await import(join(root, "packages/kernel/src/store/postgres/index.ts"))
        ).openPostgresStore({
          url: URL,
          schema,
          // One connection, so the server process doing this side's work is known.
          poolSize: 1,
        })) as Store)
      : await mod.openSqliteStore({ path: join(tmp, "k.db"), synchronous: "full" });
  const wf = mod.workflow(
    `ab.seq${STEPS}`,
    async (ctx, i: number) => {
      let sum = 0;
      for (let s = 0; s < STEPS; s++) {
        const read = s === 0 && reader !== null;
        const body = async () => {
          if (read) await reader.query("SELECT pg_sleep($1)", [READ_S]);
          return { run: i, step: s, ok: true };
        };
        sum += (
          await ctx.step(
            `s${s}`,
            body,
            read && argv.unmarked && (head || argv["base-unmarked"]) ? { startMarker: false } : {},
          )
        ).step;
      }
      return sum;
    },
    argv.lane ? { concurrency: { key: (i) => `session-${LANES ? i % LANES : i}`, limit: 1 } } : undefined,
  );
  let started = 0;
  const kernel = new mod.Kernel({ store, workflows: [wf] }).startWorker();
  const pid = store.query ? ((await store.query("SELECT pg_backend_pid() AS pid"))[0]?.pid ?? null) : null;
  return {
    store,
    pid,
    run: async (i: number) => (await kernel.start(wf, i, argv.key ? { key: `k${started++}` } : {})).result(),
    async close() {
      await kernel.close();
      await store.close();
      if (KIND === "postgres") {
        const c = new pg.Client(URL);
        await c.connect();
        await c.query(`DROP SCHEMA ${schema} CASCADE`);
        await c.end();
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

const sides = [await side(resolve(argv.base), false), await side(resolve(import.meta.dirname, ".."), true)];
const emit = (metric: string, fields: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ bench: "kernel_ab", store: KIND, metric, ...fields })}\n`);
emit("meta", {
  base: resolve(argv.base),
  runs: RUNS,
  steps: STEPS,
  lane: argv.lane,
  key: argv.key,
  read_ms: argv["read-ms"] ?? null,
  unmarked: argv.unmarked,
  base_unmarked: argv["base-unmarked"],
  lanes: LANES,
  loadavg: loadavg(),
});
try {
  for (const s of sides) for (let i = 0; i < 50; i++) await s.run(i);
  const xs = sides.map(() => [] as number[]);
  const commits = sides.map((s) => s.store.stats.commits);
  const client = sides.map(() => 0);
  const server = sides.map(() => 0 as number | null);
  for (let done = 0; done < RUNS; done += 20)
    for (const [j, s] of sides.entries()) {
      const c0 = process.cpuUsage();
      const s0 = cpuMs(s.pid);
      for (let i = done; i < Math.min(RUNS, done + 20); i++) {
        const t = performance.now();
        await s.run(i);
        xs[j]?.push(performance.now() - t);
      }
      const c = process.cpuUsage(c0);
      client[j] = (client[j] ?? 0) + (c.user + c.system) / 1000;
      const s1 = cpuMs(s.pid);
      server[j] = s0 === null || s1 === null || server[j] === null ? null : (server[j] as number) + s1 - s0;
    }
  const [base, head] = xs.map(summarize);
  const perRun = (v: number | null | undefined) => (v === null || v === undefined ? null : v / RUNS);
  emit(`workflow_${STEPS}step_latency_ms`, {
    base_p50: base?.p50,
    head_p50: head?.p50,
    base_p99: base?.p99,
    head_p99: head?.p99,
    base_min: base?.min,
    head_min: head?.min,
    ratio_p50: (head?.p50 ?? 0) / (base?.p50 ?? 1),
    base_commits_per_run: ((sides[0]?.store.stats.commits ?? 0) - (commits[0] ?? 0)) / RUNS,
    head_commits_per_run: ((sides[1]?.store.stats.commits ?? 0) - (commits[1] ?? 0)) / RUNS,
    base_client_cpu_ms_per_run: perRun(client[0]),
    head_client_cpu_ms_per_run: perRun(client[1]),
    base_server_cpu_ms_per_run: perRun(server[0]),
    head_server_cpu_ms_per_run: perRun(server[1]),
    loadavg: loadavg(),
    what: "start to result, one run at a time; base = the --base checkout's kernel, head = this tree's, alternating blocks of 20",
  });
} finally {
  for (const s of sides) await s.close();
  await reader?.end();
}
