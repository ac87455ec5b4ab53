/**
 * Kernel figures beyond the basics (run by `npm run bench:kernel` after bench/kernel.ts; alone:
 * `node bench/kernel-extras.ts [--store sqlite|postgres] [--quick]`), as JSON lines:
 * - stream_latency_ms: a step's publish to a subscriber receiving the chunk, same process and across processes;
 * - fairness_delay_ms: one namespace floods 10,000 runs, another starts one: how long until that one runs;
 * - continue_as_new_iteration_ms: cost of one daemon iteration after 10 and after 10,000 continue-as-new.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { Kernel, openSqliteStore, type Store, workflow } from "../packages/kernel/src/index.ts";
import { openPostgresStore } from "../packages/kernel/src/store/postgres/index.ts";

const { values: argv } = parseArgs({
  options: {
    store: { type: "string", default: "sqlite" },
    quick: { type: "boolean", default: false },
    child: { type: "string" },
  },
});
const kind = argv.store === "postgres" ? "postgres" : "sqlite";
const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const quick = argv.quick;
const emit = (metric: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ bench: "kernel", store: kind, metric, ...fields }));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? Number.NaN) * 1000) / 1000;
};

/** The stream workflow: publishes `n` chunks, each carrying its wall-clock publish time. */
const talker = workflow("bench.talker", async (ctx, n: number) =>
  ctx.step("talk", async ({ publish }) => {
    for (let i = 0; i < n; i++) {
      publish({ i, at: Date.now(), hr: performance.now() });
      await new Promise((r) => setTimeout(r, 2));
    }
    return n;
  }),
);

type Spec = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string; schema: string };
async function open(spec: Spec): Promise<Store> {
  return spec.kind === "sqlite"
    ? openSqliteStore(spec.path)
    : openPostgresStore({ url: spec.url, schema: spec.schema, poolSize: 4 });
}

async function fresh(label: string): Promise<{ spec: Spec; store: Store; drop(): Promise<void> }> {
  if (kind === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), `agentd-bench-${label}-`));
    const spec: Spec = { kind, path: join(dir, "k.db") };
    const store = await open(spec);
    return { spec, store, drop: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
  }
  const spec: Spec = { kind, url, schema: `bench_${label}_${randomBytes(4).toString("hex")}` };
  const store = await open(spec);
  return {
    spec,
    store,
    drop: async () => {
      await store.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${spec.schema} CASCADE`);
      await c.end();
    },
  };
}

// A child process: a worker that executes the talker (the cross-process publisher).
if (argv.child) {
  const store = await open(JSON.parse(argv.child) as Spec);
  const k = new Kernel({ store, workflows: [talker], worker: { pollMs: 20 }, logger: () => {} }).startWorker();
  process.send?.("ready");
  process.on("message", async () => {
    await k.close();
    await store.close();
    process.exit(0);
  });
} else {
  await streamLatency();
  await fairness();
  await continueAsNew();
}

async function streamLatency(): Promise<void> {
  const n = quick ? 200 : 1_000;
  // Same process: the publisher and the subscriber share the kernel's in-process hub.
  {
    const { store, drop } = await fresh("stream");
    const k = new Kernel({ store, workflows: [talker], logger: () => {} }).startWorker();
    const run = await k.start(talker, n);
    const lags: number[] = [];
    for await (const c of k.subscribe<{ hr: number }>(run.id)) lags.push(performance.now() - c.data.hr);
    emit("stream_latency_ms", {
      where: "same_process",
      p50: pct(lags, 0.5),
      p99: pct(lags, 0.99),
      n: lags.length,
      what: "step.publish to kernel.subscribe receiving the chunk",
    });
    await k.close();
    await drop();
  }
  // Across processes: a worker process publishes, this process subscribes (Postgres: NOTIFY; SQLite: the subscriber polls every 250 ms by default, here 20 ms).
  {
    const { spec, store, drop } = await fresh("stream2");
    const child = fork(new URL(import.meta.url).pathname, ["--store", kind, "--child", JSON.stringify(spec)], {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    await new Promise((r) => child.once("message", r));
    const client = new Kernel({ store, workflows: [talker], worker: false, logger: () => {} });
    const run = await client.start(talker, n);
    const lags: number[] = [];
    for await (const c of client.subscribe<{ at: number }>(run.id, { pollMs: 20 })) lags.push(Date.now() - c.data.at);
    emit("stream_latency_ms", {
      where: "across_processes",
      p50: pct(lags, 0.5),
      p99: pct(lags, 0.99),
      n: lags.length,
      resolution_ms: 1,
      what:
        kind === "postgres"
          ? "published in a worker process, received in another through LISTEN/NOTIFY"
          : "published in a worker process, received in another polling the file every 20 ms",
    });
    child.send("stop");
    await new Promise((r) => child.once("exit", r));
    await client.close();
    await drop();
  }
}

async function fairness(): Promise<void> {
  const flood = quick ? 2_000 : 10_000;
  const concurrency = 50;
  const { store, drop } = await fresh("fair");
  const started: string[] = [];
  let startedAt = 0;
  const work = workflow("bench.work", async (ctx, who: string) =>
    ctx.step("do", async () => {
      if (who === "b") startedAt = performance.now();
      started.push(who);
      await new Promise((r) => setTimeout(r, 1));
    }),
  );
  const client = new Kernel({ store, workflows: [work], worker: false, logger: () => {} });
  for (let i = 0; i < flood; i += 1_000)
    await Promise.all(
      Array.from({ length: Math.min(1_000, flood - i) }, (_, j) =>
        client.start(work, `a${i + j}`, { namespace: "flood" }),
      ),
    );
  const lone = await client.start(work, "b", { namespace: "quiet" });
  const t0 = performance.now();
  const w = new Kernel({
    store,
    workflows: [work],
    worker: { concurrency, pollMs: 50 },
    logger: () => {},
  }).startWorker();
  await w.result(lone.id);
  const delay = startedAt - t0;
  const before = started.indexOf("b");
  // How long the flood alone takes to drain, for scale: the lone run did not wait for it.
  while ((await client.listRuns({ namespace: "flood", status: ["pending", "running"], limit: 1 })).length > 0)
    await new Promise((r) => setTimeout(r, 50));
  const floodMs = performance.now() - t0;
  emit("fairness_delay_ms", {
    value: Math.round(delay * 1000) / 1000,
    flood,
    concurrency,
    flood_runs_started_before: before,
    flood_drain_ms: Math.round(floodMs),
    bound: `the lone run is in the worker's first claim: at most ${concurrency} (the worker's concurrency) flood runs start before it, whatever the flood`,
  });
  await w.close();
  await client.close();
  await drop();
}

async function continueAsNew(): Promise<void> {
  const total = quick ? 2_000 : 10_000;
  const { store, drop } = await fresh("can");
  const marks = new Map<number, number>();
  const daemon = workflow("bench.daemon", async (ctx, i: number) => {
    await ctx.step("tick", () => {
      marks.set(i, performance.now());
    });
    await ctx.sleep("rest", 0);
    return i + 1 >= total ? i : ctx.continueAsNew(i + 1);
  });
  const k = new Kernel({ store, workflows: [daemon], logger: () => {} }).startWorker();
  const r = await k.start(daemon, 0);
  await r.result();
  const per = (from: number, to: number) => {
    const xs: number[] = [];
    for (let i = from; i < to; i++) xs.push((marks.get(i + 1) as number) - (marks.get(i) as number));
    return { p50: pct(xs, 0.5), mean: Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 1000) / 1000 };
  };
  // Windows of 500 iterations, so that the machine's noise does not decide the comparison.
  const w = Math.min(500, total / 4);
  const early = per(10, 10 + w);
  const late = per(total - 1 - w, total - 1);
  const journal = (await k.journal(r.id)).length;
  emit("continue_as_new_iteration_ms", {
    window: w,
    after_10: early,
    [`after_${total}`]: late,
    ratio_p50: Math.round((late.p50 / early.p50) * 100) / 100,
    journal_entries_at_end: journal,
    what: "time between the tick steps of consecutive iterations of a daemon that continues as new each time (flat: ratio about 1)",
  });
  await k.close();
  await drop();
}
