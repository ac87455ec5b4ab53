/**
 * The same workload on DBOS Transact (`@dbos-inc/dbos-sdk`, installed in bench/ only), on the same
 * Postgres server, for a side-by-side comparison. DBOS runs in this process with its defaults (its
 * own pool of system-database connections), its system database named `agentd_bench_dbos`, and a
 * fresh schema (random name, dropped after) for every measurement.
 *
 * The package is loaded with a dynamic import of a computed name, so that type-checking the
 * repository does not need bench/'s dependencies installed; `DbosApi` is the part of its API used here.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import pg from "pg";
import { freshSchema } from "./postgres.ts";
import { stepValue, summarize, type Summary } from "./shared.ts";

interface DbosHandle<R> {
  getResult(): Promise<R>;
}
interface DbosLogger {
  info(e: unknown): void;
  debug(e: unknown): void;
  warn(e: unknown): void;
  error(e: unknown): void;
}
/** DBOS's static API, the part used here (see node_modules/@dbos-inc/dbos-sdk/dist/src/dbos.d.ts). */
interface DbosApi {
  setConfig(config: {
    name: string;
    systemDatabaseUrl: string;
    systemDatabaseSchemaName: string;
    systemDatabasePoolSize?: number;
    logger?: DbosLogger;
  }): void;
  launch(): Promise<void>;
  shutdown(): Promise<void>;
  registerWorkflow<A extends unknown[], R>(
    fn: (...args: A) => Promise<R>,
    config: { name: string },
  ): (...args: A) => Promise<R>;
  runStep<R>(fn: () => Promise<R>, config: { name: string }): Promise<R>;
  startWorkflow<A extends unknown[], R>(wf: (...args: A) => Promise<R>): (...args: A) => Promise<DbosHandle<R>>;
}

const PACKAGE = "@dbos-inc/dbos-sdk";
export const DBOS_DATABASE = "agentd_bench_dbos";

/** The installed DBOS version, or null when bench/'s dependencies are not installed. */
export function dbosVersion(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve(PACKAGE); // .../node_modules/@dbos-inc/dbos-sdk/dist/src/index.js (package.json is not exported)
    const root = main.slice(0, main.lastIndexOf(PACKAGE) + PACKAGE.length);
    return (JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as { version: string }).version;
  } catch {
    return null;
  }
}

export interface DbosBench {
  version: string;
  /** `runs` sequential runs of a 3-step workflow after `warmup`: start to result, ms samples. */
  latency3(warmup: number, runs: number, maxMs?: number): Promise<number[]>;
  /** `runs` runs of `steps` steps (3 with `three`) started at once, awaited; steps/s and the time taken. */
  throughput(
    warmup: number,
    runs: number,
    three?: boolean,
  ): Promise<{ stepsPerSec: number; seconds: number; runLatency: Summary }>;
  close(): Promise<void>;
}

/**
 * Workflows registered with DBOS, by name: DBOS's registry is static and outlives a launch, so a second
 * `openDbos` in the same process (the `dbos` and `peers` sections) reuses them.
 */
const registered = new Map<string, (i: number) => Promise<number>>();

/** Loads DBOS and registers the workflows (before any launch, as DBOS requires). */
export async function openDbos(url: string, steps: number, note: (msg: string) => void): Promise<DbosBench> {
  const version = dbosVersion();
  if (!version) throw new Error(`${PACKAGE} is not installed in bench/: run \`npm --prefix bench install\``);
  const name: string = PACKAGE; // not a literal: type-checking must not need the package
  const { DBOS } = (await import(name)) as { DBOS: DbosApi };

  const sequential = (n: number) => {
    const name = `bench.seq${n}`;
    let wf = registered.get(name);
    if (!wf) {
      wf = DBOS.registerWorkflow(
        async (i: number) => {
          let sum = 0;
          for (let s = 0; s < n; s++) {
            const v = await DBOS.runStep(async () => stepValue(i, s), { name: `s${s}` });
            sum += v.step;
          }
          return sum;
        },
        { name },
      );
      registered.set(name, wf);
    }
    return wf;
  };
  const wf3 = sequential(3);
  const wfN = sequential(steps);

  const sysUrl = new URL(url);
  sysUrl.pathname = `/${DBOS_DATABASE}`;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  admin.on("error", () => {});
  const existed = (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DBOS_DATABASE])).rowCount === 1;
  let sys: pg.Pool | null = null;
  const sysPool = (): pg.Pool => {
    if (!sys) {
      sys = new pg.Pool({ connectionString: sysUrl.toString(), max: 1 });
      sys.on("error", () => {});
    }
    return sys;
  };
  const logger: DbosLogger = {
    info() {},
    debug() {},
    warn: (e) => note(`DBOS warning: ${e instanceof Error ? e.message : String(e)}`),
    error: (e) => note(`DBOS error: ${e instanceof Error ? e.message : String(e)}`),
  };

  /** Launches DBOS on a fresh schema of its system database, runs `fn`, shuts it down and drops the schema. */
  const fresh = async <T>(fn: () => Promise<T>): Promise<T> => {
    const schema = freshSchema("dbos");
    DBOS.setConfig({
      name: "agentd-bench",
      systemDatabaseUrl: sysUrl.toString(),
      systemDatabaseSchemaName: schema,
      logger,
    });
    await DBOS.launch();
    try {
      return await fn();
    } finally {
      await DBOS.shutdown();
      await sysPool().query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  };

  return {
    version,
    latency3: (warmup, runs, maxMs = Infinity) =>
      fresh(async () => {
        for (let i = 0; i < warmup; i++) await (await DBOS.startWorkflow(wf3)(i)).getResult();
        const xs: number[] = [];
        const t0 = performance.now();
        for (let i = 0; i < runs && (xs.length < 10 || performance.now() - t0 < maxMs); i++) {
          const t = performance.now();
          const h = await DBOS.startWorkflow(wf3)(i);
          if ((await h.getResult()) !== 3) throw new Error("DBOS: wrong result");
          xs.push(performance.now() - t);
        }
        return xs;
      }),
    throughput: (warmup, runs, three = false) =>
      fresh(async () => {
        const wf = three ? wf3 : wfN;
        const perRun = three ? 3 : steps;
        const expected = (perRun * (perRun - 1)) / 2;
        const batch = async (n: number, offset: number) => {
          const t = performance.now();
          const handles = await Promise.all(Array.from({ length: n }, (_, i) => DBOS.startWorkflow(wf)(offset + i)));
          const lat: number[] = [];
          const results = await Promise.all(
            handles.map((h) => h.getResult().then((v) => (lat.push(performance.now() - t), v))),
          );
          if (results.some((v) => v !== expected)) throw new Error("DBOS throughput: wrong result");
          return lat;
        };
        await batch(warmup, 0);
        const t = performance.now();
        const lat = await batch(runs, warmup);
        const seconds = (performance.now() - t) / 1000;
        return { stepsPerSec: (runs * perRun) / seconds, seconds, runLatency: summarize(lat) };
      }),
    async close() {
      await sys?.end();
      // Leave the server as it was: the system database goes if this run made it.
      if (!existed)
        await admin
          .query(`DROP DATABASE IF EXISTS ${DBOS_DATABASE} WITH (FORCE)`)
          .catch((e) => note(`could not drop ${DBOS_DATABASE}: ${String(e)}`));
      await admin.end();
    },
  };
}
