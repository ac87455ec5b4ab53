/**
 * This tree's kernel against another checkout's on the throughput workload (`runs` runs of `steps`
 * trivial steps started at once), in one process: reps alternate between the two kernels (base, head,
 * head, base, ...), each on a fresh database, so load from elsewhere on the machine weighs on both.
 * JSON lines on stdout. The figures that depend least on that load are `alloc_bytes_per_step` (what
 * the JS heap allocated during the rep: the garbage each step makes, whose collection was a fifth of
 * the CPU) and `cpu_us_per_step` (this process's CPU time during the rep); steps/s is wall time.
 *
 *     node bench/kernel-ab-throughput.ts --base /tmp/kbase [--store sqlite|postgres] [--reps 10] [--runs 2000] [--concurrency 2000]
 *
 * `--base` is a checkout holding `packages/kernel` (as for bench/kernel-ab.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { GCProfiler, getHeapStatistics } from "node:v8";
import pg from "pg";
import { freshSchema } from "./postgres.ts";
import { summarize } from "./shared.ts";

const { values: argv } = parseArgs({
  options: {
    base: { type: "string" },
    store: { type: "string", default: "sqlite" },
    reps: { type: "string", default: "10" },
    runs: { type: "string", default: "2000" },
    steps: { type: "string", default: "10" },
    concurrency: { type: "string", default: "2000" },
  },
});
if (!argv.base) throw new Error("--base <checkout> is required: the kernel to compare this tree's with.");
const KIND = argv.store === "postgres" ? "postgres" : "sqlite";
const [REPS, RUNS, STEPS, CONCURRENCY] = [argv.reps, argv.runs, argv.steps, argv.concurrency].map(Number) as [
  number,
  number,
  number,
  number,
];
const URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";
const WARMUP = 200;

interface Rep {
  stepsPerSec: number;
  cpuUsPerStep: number;
  allocBytesPerStep: number;
  gcUsPerStep: number;
}
interface Handle {
  result(): Promise<unknown>;
}
interface KernelModule {
  Kernel: new (o: {
    store: unknown;
    workflows: unknown[];
    worker: { concurrency: number };
  }) => {
    startWorker(): { start(wf: unknown, i: number): Promise<Handle>; close(): Promise<void> };
  };
  workflow: (name: string, fn: (ctx: any, i: number) => Promise<number>) => unknown;
  openSqliteStore: (o: { path: string; synchronous: string }) => Promise<{ close(): Promise<void> }>;
}

/**
 * Bytes the JS heap allocated while `fn` ran, and the time its collections took: each collection's
 * heap before it, less the heap after the one before (what was allocated in between), plus what the
 * heap grew after the last. It does not move with the machine's load as CPU time does.
 */
async function allocating(fn: () => Promise<void>): Promise<{ bytes: number; gcMs: number }> {
  const profiler = new GCProfiler();
  let used = getHeapStatistics().used_heap_size;
  profiler.start();
  await fn();
  const end = getHeapStatistics().used_heap_size;
  const gcs = profiler.stop()?.statistics ?? [];
  let bytes = 0;
  let gcUs = 0;
  for (const g of gcs) {
    bytes += Math.max(0, g.beforeGC.heapStatistics.usedHeapSize - used);
    used = g.afterGC.heapStatistics.usedHeapSize;
    gcUs += g.cost;
  }
  return { bytes: bytes + Math.max(0, end - used), gcMs: gcUs / 1000 };
}

/** One rep of one side: a fresh database, warm-up runs, then the measured batch. */
async function rep(root: string, label: string): Promise<Rep> {
  const mod = (await import(join(root, "packages/kernel/src/index.ts"))) as KernelModule;
  const tmp = mkdtempSync(join(tmpdir(), "agentd-abt-"));
  const schema = freshSchema("abt");
  const store =
    KIND === "postgres"
      ? ((await (
          await import(join(root, "packages/kernel/src/store/postgres/index.ts"))
        ).openPostgresStore({
          url: URL,
          schema,
        })) as { close(): Promise<void> })
      : await mod.openSqliteStore({ path: join(tmp, `${label}.db`), synchronous: "full" });
  const wf = mod.workflow(`abt.seq${STEPS}`, async (ctx, i: number) => {
    let sum = 0;
    for (let s = 0; s < STEPS; s++) sum += (await ctx.step(`s${s}`, () => ({ run: i, step: s, ok: true }))).step;
    return sum;
  });
  const kernel = new mod.Kernel({ store, workflows: [wf], worker: { concurrency: CONCURRENCY } }).startWorker();
  const expected = (STEPS * (STEPS - 1)) / 2;
  const batch = async (n: number, offset: number) => {
    const hs = await Promise.all(Array.from({ length: n }, (_, i) => kernel.start(wf, offset + i)));
    const rs = await Promise.all(hs.map((h) => h.result()));
    if (rs.some((v) => v !== expected)) throw new Error(`${label}: a run returned a wrong result`);
  };
  try {
    await batch(WARMUP, 0);
    const c0 = process.cpuUsage();
    const t = performance.now();
    const heap = await allocating(() => batch(RUNS, WARMUP));
    const secs = (performance.now() - t) / 1000;
    const c = process.cpuUsage(c0);
    return {
      stepsPerSec: (RUNS * STEPS) / secs,
      cpuUsPerStep: (c.user + c.system) / (RUNS * STEPS),
      allocBytesPerStep: heap.bytes / (RUNS * STEPS),
      gcUsPerStep: (heap.gcMs * 1000) / (RUNS * STEPS),
    };
  } finally {
    await kernel.close();
    await store.close();
    if (KIND === "postgres") {
      const c = new pg.Client(URL);
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

const roots = { base: resolve(argv.base), head: resolve(import.meta.dirname, "..") };
const emit = (metric: string, fields: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ bench: "kernel_ab_throughput", store: KIND, metric, ...fields })}\n`);
emit("meta", { base: roots.base, reps: REPS, runs: RUNS, steps: STEPS, concurrency: CONCURRENCY, loadavg: loadavg() });

const out: { base: Rep[]; head: Rep[] } = { base: [], head: [] };
for (let r = 0; r < REPS; r++) {
  const order = r % 2 === 0 ? (["base", "head"] as const) : (["head", "base"] as const);
  for (const side of order) out[side].push(await rep(roots[side], `${side}-${r}`));
}
const fig = (xs: Rep[]) => ({
  steps_per_s: summarize(xs.map((x) => x.stepsPerSec)),
  cpu_us_per_step: summarize(xs.map((x) => x.cpuUsPerStep)),
  alloc_bytes_per_step: summarize(xs.map((x) => x.allocBytesPerStep)),
  gc_us_per_step: summarize(xs.map((x) => x.gcUsPerStep)),
});
const [b, h] = [fig(out.base), fig(out.head)];
emit("throughput_ab", {
  base_steps_per_s_p50: b.steps_per_s.p50,
  head_steps_per_s_p50: h.steps_per_s.p50,
  base_cpu_us_per_step_p50: b.cpu_us_per_step.p50,
  head_cpu_us_per_step_p50: h.cpu_us_per_step.p50,
  ratio_steps_per_s: h.steps_per_s.p50 / b.steps_per_s.p50,
  ratio_cpu_per_step: h.cpu_us_per_step.p50 / b.cpu_us_per_step.p50,
  base_alloc_bytes_per_step_p50: b.alloc_bytes_per_step.p50,
  head_alloc_bytes_per_step_p50: h.alloc_bytes_per_step.p50,
  base_gc_us_per_step_p50: b.gc_us_per_step.p50,
  head_gc_us_per_step_p50: h.gc_us_per_step.p50,
  ratio_alloc_per_step: h.alloc_bytes_per_step.p50 / b.alloc_bytes_per_step.p50,
  base_steps_per_s: out.base.map((x) => Math.round(x.stepsPerSec)),
  head_steps_per_s: out.head.map((x) => Math.round(x.stepsPerSec)),
  loadavg: loadavg(),
  what: `${RUNS} runs of ${STEPS} trivial steps started at once, worker concurrency ${CONCURRENCY}; medians of ${REPS} fresh databases a side, reps alternating`,
});
