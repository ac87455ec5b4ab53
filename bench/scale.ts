/**
 * Does the kernel slow down as runs pile up? A sequential 3-step workflow's latency on a store that
 * fills up to 1,000,000 completed runs (3 journal entries each), measured on the way (10,000, 40,000,
 * 100,000) and at the end with no planner statistics, then after ANALYZE; each time alternately with
 * the same workflow on an empty store, so that other load on the machine weighs on both figures alike.
 * One JSON object per line on stdout, progress on stderr.
 *
 *     node bench/scale.ts [--store sqlite|postgres] [--runs 1000000] [--at 10000,40000,100000] [--quick] [--dir <tmp root>]
 *
 * The stored runs are bulk-inserted (generate_series on Postgres, one transaction of prepared inserts
 * per 100,000 rows on SQLite), not executed. The kernel keeps running a workflow now and then while
 * they are inserted, so plans cached while the tables were small stay in use, as in a process that
 * lives while its store grows. Target: p50 at 1,000,000 within 10 % of the empty store's.
 *
 * --kernels two (the default): a kernel on each store, both running, measured alternately in blocks of
 * 20 runs. one: only one kernel alive at a time (opened on a store, a few runs to warm it, a block of
 * 50 measured, closed; then the other store), so the idle kernel's worker and connections cannot weigh
 * on the figure. compare: both ways at every point, one after the other (each line says which).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import pg from "pg";
import { Kernel, openSqliteStore, type Store, type Workflow } from "../packages/kernel/src/index.ts";
import { openPostgresStore } from "../packages/kernel/src/store/postgres/index.ts";
import { freshSchema, where } from "./postgres.ts";
import { sequential, summarize } from "./shared.ts";

const { values: argv } = parseArgs({
  options: {
    store: { type: "string", default: "sqlite" },
    runs: { type: "string", default: "1000000" },
    at: { type: "string" },
    quick: { type: "boolean", default: false },
    dir: { type: "string" },
    kernels: { type: "string", default: "two" },
  },
});
const MODES = (argv.kernels === "compare" ? ["two", "one"] : [argv.kernels]) as ("two" | "one")[];
for (const m of MODES) if (m !== "two" && m !== "one") throw new Error(`--kernels ${m}: one of two, one, compare`);
const KIND = argv.store === "postgres" ? "postgres" : "sqlite";
const STORED = Number(argv.runs);
const SAMPLES = argv.quick ? 100 : 500;
const WARMUP = argv.quick ? 20 : 50;
const CHUNK = 100_000;
const PG_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";

const emit = (metric: string, fields: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ bench: "kernel_scale", store: KIND, metric, ...fields })}\n`);
const note = (s: string) => process.stderr.write(`[scale ${KIND}] ${s}\n`);

/** The bulk-filling and statistics of one store kind, beside the kernel's own connection. */
interface Filler {
  /** Inserts completed runs `from`..`to` (1-based), with their journals. */
  fill(from: number, to: number): Promise<void>;
  analyze(): Promise<void>;
  close(): Promise<void>;
}

const wf = sequential(3);
const ID = (n: string) => `'00000000-0000-7000-8000-' || lpad(to_hex(${n}), 12, '0')`; // older than any uuidv7 the kernel makes
const T0 = Date.now() - 30 * 86_400_000;

async function openPostgres(): Promise<{ store: Store; filler: Filler; meta: Record<string, unknown> }> {
  const schema = freshSchema("scale");
  const store = await openPostgresStore({ url: PG_URL, schema });
  const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await c.connect();
  // "Without statistics" must stay so while measuring: autovacuum would analyze the filled tables.
  for (const t of ["runs", "entries"]) await c.query(`ALTER TABLE ${t} SET (autovacuum_enabled = false)`);
  const version = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v;
  return {
    store,
    meta: { where: where(PG_URL), server_version: version },
    filler: {
      async fill(from, to) {
        await c.query(
          `INSERT INTO runs (id, namespace, workflow, status, input, output, epoch, created_at, updated_at, completed_at, version)
           SELECT ${ID("g")}, 'default', $1, 'completed', g::text, '3', 1, $2 + g, $2 + g, $2 + g, $3 FROM generate_series($4::bigint, $5::bigint) g`,
          [wf.name, T0, wf.version, from, to],
        );
        await c.query(
          `INSERT INTO entries (run_id, seq, kind, name, status, attempt, value, started_at, updated_at)
           SELECT ${ID("g")}, s, 'step', 's' || (s - 1), 'completed', 1, '{"run":' || g || ',"step":' || (s - 1) || ',"ok":true}', $1 + g, $1 + g
           FROM generate_series($2::bigint, $3::bigint) g, generate_series(1, 3) s`,
          [T0, from, to],
        );
      },
      analyze: async () => void (await c.query("ANALYZE")),
      async close() {
        await store.close();
        await c.query(`DROP SCHEMA ${schema} CASCADE`);
        await c.end();
      },
    },
  };
}

async function openSqlite(): Promise<{ store: Store; filler: Filler; meta: Record<string, unknown> }> {
  const dir = mkdtempSync(join(argv.dir ?? tmpdir(), "agentd-scale-"));
  const path = join(dir, "kernel.db");
  const store = await openSqliteStore({ path, synchronous: "full" });
  const db = new DatabaseSync(path);
  db.exec("PRAGMA busy_timeout = 60000");
  const run =
    db.prepare(`INSERT INTO runs (id, namespace, workflow, status, input, output, epoch, created_at, updated_at, completed_at, version)
    VALUES (?, 'default', ?, 'completed', ?, '3', 1, ?, ?, ?, ?)`);
  const entry =
    db.prepare(`INSERT INTO entries (run_id, seq, kind, name, status, attempt, value, started_at, updated_at)
    VALUES (?, ?, 'step', ?, 'completed', 1, ?, ?, ?)`);
  const id = (g: number) => `00000000-0000-7000-8000-${g.toString(16).padStart(12, "0")}`;
  return {
    store,
    meta: { path, sqlite_version: (db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v },
    filler: {
      async fill(from, to) {
        db.exec("BEGIN IMMEDIATE");
        for (let g = from; g <= to; g++) {
          const t = T0 + g;
          run.run(id(g), wf.name, String(g), t, t, t, wf.version);
          for (let s = 1; s <= 3; s++) entry.run(id(g), s, `s${s - 1}`, `{"run":${g},"step":${s - 1},"ok":true}`, t, t);
        }
        db.exec("COMMIT");
        // Let the kernel's background runs in between, as the Postgres filler does.
        await new Promise((r) => setImmediate(r));
      },
      analyze: async () => void db.exec("ANALYZE"),
      async close() {
        db.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    },
  };
}

const openKernel = (o: { store: Store }) =>
  new Kernel({ store: o.store, workflows: [wf as Workflow<never, unknown>] }).startWorker();

async function timed(k: Kernel, n: number, into: number[] | null): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await (await k.start(wf, i)).result();
    into?.push(performance.now() - t);
  }
}

/**
 * `n` sequential runs on each store, alternating in blocks so load from elsewhere on the machine weighs
 * on both alike. "two": a kernel on each store, both alive throughout. "one": a kernel opened for each
 * block and closed after it, so only one is ever alive.
 */
async function latencies(
  stores: { store: Store }[],
  mode: "two" | "one",
  warmup: number,
  n: number,
): Promise<number[][]> {
  const xs = stores.map(() => [] as number[]);
  const block = mode === "two" ? 20 : 50;
  const kernels = mode === "two" ? stores.map(openKernel) : null;
  try {
    if (kernels) for (const k of kernels) await timed(k, warmup, null);
    for (let done = 0; done < n; done += block) {
      for (const [j, o] of stores.entries()) {
        const k = kernels?.[j] ?? openKernel(o);
        try {
          if (!kernels) await timed(k, Math.min(warmup, 10), null);
          await timed(k, Math.min(block, n - done), xs[j] as number[]);
        } finally {
          if (!kernels) await k.close();
        }
      }
    }
  } finally {
    for (const k of kernels ?? []) await k.close();
  }
  return xs;
}

const base = KIND === "postgres" ? await openPostgres() : await openSqlite();
const full = KIND === "postgres" ? await openPostgres() : await openSqlite();
const AT = (argv.at ?? "10000,40000,100000,1000000")
  .split(",")
  .map(Number)
  .filter((n) => n <= STORED);
if (!AT.includes(STORED)) AT.push(STORED);
emit("meta", {
  ...full.meta,
  stored_runs: STORED,
  measured_at: AT,
  samples: SAMPLES,
  cpus: cpus().length,
  loadavg: loadavg(),
  node: process.version,
  kernels: argv.kernels,
});
const line = (mode: string, stored: number, stats: string, xs: number[], empty: number[]) => {
  const s = summarize(xs);
  const e = summarize(empty);
  const ratio = s.p50 / e.p50;
  emit("workflow_3step_latency_ms", {
    stored_runs: stored,
    stats,
    kernels: mode,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    ...s,
    empty_store_p50: e.p50,
    empty_store_p99: e.p99,
    ratio_p50: ratio,
    target_ratio: 1.1,
    ok: ratio <= 1.1,
    what: `kernel.start() to run.result(), 3 sequential trivial steps, one run at a time; empty_store_*: the same on an empty store, measured alternately (${mode === "two" ? "a kernel on each store, both alive" : "one kernel alive at a time"})`,
  });
  note(
    `${mode} kernel(s), ${stored} stored runs, statistics ${stats}: p50 ${s.p50.toFixed(3)} ms (empty store ${e.p50.toFixed(3)} ms, ratio ${ratio.toFixed(2)}), p99 ${s.p99.toFixed(3)} ms`,
  );
};
/** Measures at one point in every mode asked for. */
async function measure(stored: number, stats: string, warmup: number): Promise<void> {
  for (const mode of MODES) {
    const [e, f] = await latencies([base, full], mode, warmup, SAMPLES);
    line(mode, stored, stats, f as number[], e as number[]);
  }
}

/** A run every 100 ms on the full store while it fills: its connections and their cached plans stay alive. */
function background(): () => Promise<void> {
  let filling = true;
  const k = openKernel(full);
  const done = (async () => {
    while (filling) {
      await (await k.start(wf, -1)).result();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    filling = false;
    await done;
    await k.close();
  };
}

try {
  // The full store's connections first work on its empty tables, so plans cached then stay in use as they grow.
  await measure(0, "none", WARMUP);
  const t0 = performance.now();
  let stored = 0;
  for (const at of AT) {
    const stop = background();
    for (; stored < at; stored = Math.min(at, stored + CHUNK))
      await full.filler.fill(stored + 1, Math.min(at, stored + CHUNK));
    await stop();
    note(`stored ${stored} runs (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    await measure(stored, "none", 20);
  }
  emit("fill_seconds", {
    stored_runs: STORED,
    seconds: (performance.now() - t0) / 1000,
    what: "bulk insert of the completed runs and their journals, with the measurements in between",
  });
  await base.filler.analyze();
  await full.filler.analyze();
  await measure(STORED, "analyzed", WARMUP);
} finally {
  await base.filler.close();
  await full.filler.close();
}
emit("done", { loadavg: loadavg() });
