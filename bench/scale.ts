/**
 * Does the kernel slow down as runs pile up? A sequential 3-step workflow's latency on an empty store,
 * then with 1,000,000 completed runs (3 journal entries each) stored beside it: first with no planner
 * statistics, then after ANALYZE. One JSON object per line on stdout, progress on stderr.
 *
 *     node bench/scale.ts [--store sqlite|postgres] [--runs 1000000] [--quick] [--dir <tmp root>]
 *
 * The stored runs are bulk-inserted (generate_series on Postgres, one transaction of prepared inserts
 * per 100,000 rows on SQLite), not executed. The kernel keeps running a workflow now and then while
 * they are inserted, so plans cached while the tables were small stay in use, as in a process that
 * lives while its store grows. Target: p50 at 1,000,000 within 10 % of the empty store's.
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
    quick: { type: "boolean", default: false },
    dir: { type: "string" },
  },
});
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
  const run = db.prepare(`INSERT INTO runs (id, namespace, workflow, status, input, output, epoch, created_at, updated_at, completed_at, version)
    VALUES (?, 'default', ?, 'completed', ?, '3', 1, ?, ?, ?, ?)`);
  const entry = db.prepare(`INSERT INTO entries (run_id, seq, kind, name, status, attempt, value, started_at, updated_at)
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

async function latency(kernel: Kernel, warmup: number, n: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await (await kernel.start(wf, i)).result();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await (await kernel.start(wf, i)).result();
    xs.push(performance.now() - t);
  }
  return xs;
}

const { store, filler, meta } = KIND === "postgres" ? await openPostgres() : await openSqlite();
emit("meta", { ...meta, stored_runs: STORED, samples: SAMPLES, cpus: cpus().length, loadavg: loadavg(), node: process.version });
const kernel = new Kernel({ store, workflows: [wf as Workflow<never, unknown>] }).startWorker();
const line = (stored: number, stats: string, xs: number[]) => {
  const s = summarize(xs);
  emit("workflow_3step_latency_ms", { stored_runs: stored, stats, ...s, what: "kernel.start() to run.result(), 3 sequential trivial steps, one run at a time" });
  note(`${stored} stored runs, ${stats}: p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
  return s.p50;
};
try {
  const empty = line(0, "none", await latency(kernel, WARMUP, SAMPLES));
  // A run every 100 ms while filling: the kernel's connections and their cached plans stay alive.
  let filling = true;
  const background = (async () => {
    while (filling) {
      await (await kernel.start(wf, -1)).result();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const t0 = performance.now();
  for (let from = 1; from <= STORED; from += CHUNK) {
    await filler.fill(from, Math.min(STORED, from + CHUNK - 1));
    note(`stored ${Math.min(STORED, from + CHUNK - 1)} runs (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  filling = false;
  await background;
  emit("fill_seconds", { stored_runs: STORED, seconds: (performance.now() - t0) / 1000, what: "bulk insert of the completed runs and their journals" });
  const cold = line(STORED, "none", await latency(kernel, WARMUP, SAMPLES));
  await filler.analyze();
  const warm = line(STORED, "analyzed", await latency(kernel, WARMUP, SAMPLES));
  for (const [stats, p50] of [["none", cold], ["analyzed", warm]] as const) {
    const ratio = p50 / empty;
    emit("ratio_p50_full_vs_empty", { stored_runs: STORED, stats, ratio, target: 1.1, ok: ratio <= 1.1 });
  }
} finally {
  await kernel.close();
  await filler.close();
}
emit("done", { loadavg: loadavg() });
