/**
 * What the `peers` section asks of each peer (DBOS, Restate, Vercel Workflow): the same 3-step workflow
 * of trivial steps, its start-to-result latency one run at a time, and many runs started at once. The
 * peers' packages live in bench/peers/node_modules (`npm --prefix bench/peers install`), DBOS's in bench/node_modules.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { summarize, type Summary } from "../shared.ts";

export interface Throughput {
  runsPerSec: number;
  seconds: number;
  /** Each run's time from the batch's first start to its result. */
  runLatency: Summary;
}

export interface Peer {
  name: string;
  version: string;
  /** Where the peer keeps its runs, in words (for `what` and the README). */
  stores: string;
  /**
   * Start to result of `runs` sequential 3-step runs after `warmup` uncounted ones, ms samples; stops
   * early once `maxMs` have passed and 10 samples are in (a slow peer would take minutes).
   */
  latency3(warmup: number, runs: number, maxMs?: number): Promise<number[]>;
  /** `runs` 3-step runs started at once and awaited, after a batch of `warmup`. */
  throughput3(warmup: number, runs: number): Promise<Throughput>;
  close(): Promise<void>;
}

/** The folder of a package installed in bench/peers/node_modules (`npm --prefix bench/peers install`). */
export const packageRoot = (name: string): string => fileURLToPath(new URL(`./node_modules/${name}/`, import.meta.url));

/** The installed version of a bench/ dependency, or null when bench/'s dependencies are not installed. */
export function installedVersion(name: string): string | null {
  try {
    return (JSON.parse(readFileSync(`${packageRoot(name)}package.json`, "utf8")) as { version: string }).version;
  } catch {
    return null;
  }
}

/** `run(i)` resolves to the run's result, which for the 3-step workflow is 0 + 1 + 2. */
type RunOnce = (i: number) => Promise<number>;

const check = (peer: string, v: number, expected: number) => {
  if (v !== expected) throw new Error(`${peer}: wrong result ${v}, expected ${expected}`);
};

export async function timeSequential(
  run: RunOnce,
  warmup: number,
  runs: number,
  maxMs = Infinity,
  steps = 3,
): Promise<number[]> {
  const expected = (steps * (steps - 1)) / 2;
  for (let i = 0; i < warmup; i++) check("warm-up", await run(i), expected);
  const xs: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < runs && (xs.length < 10 || performance.now() - t0 < maxMs); i++) {
    const t = performance.now();
    check("latency", await run(warmup + i), expected);
    xs.push(performance.now() - t);
  }
  return xs;
}

export async function timeBatch(run: RunOnce, warmup: number, runs: number, steps = 3): Promise<Throughput> {
  const expected = (steps * (steps - 1)) / 2;
  const batch = async (n: number, offset: number) => {
    const t = performance.now();
    const lat: number[] = [];
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        run(offset + i).then((v) => {
          check("throughput", v, expected);
          lat.push(performance.now() - t);
        }),
      ),
    );
    return lat;
  };
  await batch(warmup, 0);
  const t = performance.now();
  const lat = await batch(runs, warmup);
  const seconds = (performance.now() - t) / 1000;
  return { runsPerSec: runs / seconds, seconds, runLatency: summarize(lat) };
}

/** The peers' installed versions, for the `meta` line. */
export function peerVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of ["@restatedev/restate-server", "@restatedev/restate-sdk", "workflow", "@workflow/world-postgres"])
    out[p] = installedVersion(p) ?? "not installed (npm --prefix bench install)";
  return out;
}
