import { parseArgs } from "node:util";

// ---- arguments and configuration ------------------------------------------------------------------

const SECTIONS = [
  "limits",
  "latency",
  "throughput",
  "resume",
  "timer",
  "background",
  "processes",
  "schedule",
  "dbos",
  "peers",
] as const;
export type Section = (typeof SECTIONS)[number];
/** Sections a run has unless --only says otherwise: processes, schedule and dbos are Postgres's (the first two also run on SQLite when asked); peers runs when asked. */
const DEFAULT_SECTIONS: Record<string, readonly Section[]> = {
  sqlite: ["limits", "latency", "throughput", "resume", "timer", "background"],
  // `peers` only when asked: it takes 10-15 minutes, most of it Vercel Workflow's.
  postgres: SECTIONS.filter((s) => s !== "peers"),
};
const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/test";
const PEER_NAMES = ["dbos", "restate", "workflow"] as const;
export type PeerName = (typeof PEER_NAMES)[number];

export const { values: argv } = parseArgs({
  options: {
    store: { type: "string", default: "sqlite" },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    dir: { type: "string" },
    peers: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (argv.help) {
  process.stderr.write(
    `usage: node bench/kernel.ts [--store sqlite|postgres] [--quick] [--only ${SECTIONS.join(",")}] [--dir <tmp root>]\n` +
      `  --store postgres uses DATABASE_URL (default ${DEFAULT_PG_URL}); dbos and peers need \`npm --prefix bench install\`\n` +
      `  --peers ${PEER_NAMES.join(",")}   the peers the peers section runs beside the kernel (default: all)\n`,
  );
  process.exit(0);
}
export const STORE_KIND = argv.store ?? "sqlite";
if (!(STORE_KIND in DEFAULT_SECTIONS))
  throw new Error(`--store ${STORE_KIND}: unknown store (known: ${Object.keys(DEFAULT_SECTIONS).join(", ")})`);
export const QUICK = argv.quick === true;
export const only = new Set<Section>(
  argv.only === undefined
    ? DEFAULT_SECTIONS[STORE_KIND]
    : argv.only.split(",").map((s) => {
        if (!(SECTIONS as readonly string[]).includes(s))
          throw new Error(`--only: unknown section "${s}" (known: ${SECTIONS.join(", ")})`);
        return s as Section;
      }),
);
for (const s of ["dbos", "peers"] as const)
  if (only.has(s) && STORE_KIND !== "postgres")
    throw new Error(`--only ${s}: the peers run beside the kernel on Postgres only (--store postgres)`);
export const PEERS: readonly PeerName[] =
  argv.peers === undefined
    ? PEER_NAMES
    : argv.peers.split(",").map((p) => {
        if (!(PEER_NAMES as readonly string[]).includes(p))
          throw new Error(`--peers: unknown peer "${p}" (known: ${PEER_NAMES.join(", ")})`);
        return p as PeerName;
      });
export const PG_URL = process.env.DATABASE_URL || DEFAULT_PG_URL;
/** Connections in the kernel store's pool (the store's default), and in DBOS's (its default). */
export const PG_POOL = 10;

export const CFG = QUICK
  ? {
      limits: { commits: 300, warmup: 30, batchSize: 1_000, batchReps: 3, insertSecs: 1, connections: [1, 16] },
      latency: { warmup: 30, runs: 300, longRuns: 20, longSteps: 20 },
      throughput: { warmup: 100, runs: 1_000, steps: 10, concurrency: [1_000], reps: 2 },
      resume: { ns: [10, 100, 1_000], samples: 5 },
      timer: { sequential: 10, concurrent: 50, minMs: 20, maxMs: 60 },
      background: { sleeping: [2_000], latencyRuns: 100, timerSamples: 5 },
      processes: { counts: [1, 2, 4], warmup: 50, runs: 300, steps: 10, concurrency: 500, reps: 1 },
      schedule: { workers: 1, schedules: 2, seconds: 3.2, skipFirstMs: 1_500 },
      dbos: { latencyWarmup: 20, latencyRuns: 50, warmup: 20, runs: 200, reps: 1 },
      peers: { latencyWarmup: 3, latencyRuns: 40, rounds: 2, maxBlockMs: 10_000, warmup: 10, runs: 100 },
    }
  : {
      limits: { commits: 3_000, warmup: 300, batchSize: 1_000, batchReps: 5, insertSecs: 3, connections: [1, 16] },
      latency: { warmup: 300, runs: 3_000, longRuns: 200, longSteps: 20 },
      throughput: { warmup: 200, runs: 2_000, steps: 10, concurrency: [100, 500, 2_000], reps: 5 },
      resume: { ns: [10, 100, 1_000], samples: 20 },
      timer: { sequential: 100, concurrent: 500, minMs: 20, maxMs: 100 },
      background: { sleeping: [2_000, 20_000], latencyRuns: 500, timerSamples: 20 },
      processes: { counts: [1, 2, 4], warmup: 100, runs: 2_000, steps: 10, concurrency: 500, reps: 2 },
      schedule: { workers: 2, schedules: 4, seconds: 15, skipFirstMs: 2_000 },
      dbos: { latencyWarmup: 50, latencyRuns: 500, warmup: 100, runs: 1_000, reps: 2 },
      peers: { latencyWarmup: 10, latencyRuns: 400, rounds: 2, maxBlockMs: 30_000, warmup: 20, runs: 1_000 },
    };

// Postgres's runs stay under ~30 s (quick) and ~4 min (full) with the sections only it has: fewer in-process throughput runs.
if (STORE_KIND === "postgres") Object.assign(CFG.throughput, QUICK ? { runs: 500, reps: 1 } : { reps: 2 });
