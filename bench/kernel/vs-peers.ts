import { loadavg } from "node:os";
import type { Workflow } from "../../packages/kernel/src/index.ts";
import { openDbos } from "../dbos.ts";
import { type Peer, timeBatch, timeSequential } from "../peers/peer.ts";
import { openRestate } from "../peers/restate.ts";
import { openVercelWorkflow } from "../peers/vercel-workflow.ts";
import { sequential, summarize, type StoreFactory, type Summary } from "../shared.ts";
import { CFG, PEERS, PG_URL, type PeerName } from "./config.ts";
import { emit, note, round, withKernel } from "./harness.ts";
import type { Figures } from "./ratios.ts";

// ---- 8. the same 3-step workflow on the peers: DBOS, Restate, Vercel Workflow ------------------------

const wf3 = sequential(3);

/** The kernel as one more system: a fresh schema and kernel per measurement, as every section has it. */
function kernelPeer(factory: StoreFactory): Peer {
  const workflows = [wf3 as Workflow<never, unknown>];
  const run =
    (kernel: { start: (wf: Workflow<number, number>, i: number) => Promise<{ result(): Promise<number> }> }) =>
    (i: number) =>
      kernel.start(wf3, i).then((h) => h.result());
  let n = 0;
  return {
    name: "kernel",
    version: "this repository",
    stores: "Postgres, the same server: a fresh schema per measurement",
    latency3: (warmup, runs, maxMs) =>
      withKernel(factory, `peers-latency-${n++}`, { workflows }, (k) => timeSequential(run(k), warmup, runs, maxMs)),
    throughput3: (warmup, runs) =>
      withKernel(factory, `peers-throughput-${n++}`, { workflows, worker: { concurrency: runs } }, (k) =>
        timeBatch(run(k), warmup, runs),
      ),
    close: async () => {},
  };
}

async function dbosPeer(): Promise<Peer> {
  const d = await openDbos(PG_URL, CFG.throughput.steps, note);
  return {
    name: "dbos",
    version: d.version,
    stores: "Postgres, the same server: its system database agentd_bench_dbos, a fresh schema per measurement",
    latency3: (warmup, runs, maxMs) => d.latency3(warmup, runs, maxMs),
    async throughput3(warmup, runs) {
      const t = await d.throughput(warmup, runs, true);
      return { runsPerSec: t.stepsPerSec / 3, seconds: t.seconds, runLatency: t.runLatency };
    },
    close: () => d.close(),
  };
}

const OPEN: Record<PeerName, () => Promise<Peer>> = {
  dbos: dbosPeer,
  restate: () => openRestate(note),
  workflow: () => openVercelWorkflow(PG_URL, note),
};

const load = () => loadavg().map((x) => round(x, 2));

/**
 * Kernel, DBOS, Restate and Vercel Workflow on the same 3-step workflow of trivial steps, in this one
 * run: start-to-result latency one run at a time (in `rounds` blocks, the systems' order rotated each
 * round so the machine's load falls on all), then `runs` runs started at once. A peer that cannot be
 * opened or fails prints an `error` line with its error; the others are still measured.
 */
export async function peers(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.peers;
  const systems: Peer[] = [kernelPeer(factory)];
  const failed: string[] = [];
  const fail = (name: string, stage: string, e: unknown) => {
    failed.push(name);
    emit("error", { section: "peers", peer: name, stage, error: e instanceof Error ? e.message : String(e) });
    note(`peer ${name} failed (${stage}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  };
  for (const name of PEERS) {
    try {
      systems.push(await OPEN[name]());
    } catch (e) {
      fail(name, "open", e);
    }
  }
  const live = () => systems.filter((s) => !failed.includes(s.name));
  try {
    const samples = new Map<string, number[]>(systems.map((s) => [s.name, []]));
    for (let round = 0; round < cfg.rounds; round++) {
      const order = live().map((_, i, all) => all[(i + round) % all.length] as Peer);
      for (const s of order) {
        try {
          const xs = await s.latency3(cfg.latencyWarmup, Math.ceil(cfg.latencyRuns / cfg.rounds), cfg.maxBlockMs);
          samples.get(s.name)?.push(...xs);
          note(
            `peers, latency round ${round + 1}: ${s.name} p50 ${summarize(xs).p50.toFixed(2)} ms (${xs.length} runs)`,
          );
        } catch (e) {
          fail(s.name, "latency", e);
        }
      }
    }
    const lat = new Map<string, Summary>([...samples].map(([k, xs]) => [k, summarize(xs)]));
    const k3 = lat.get("kernel") as Summary;

    const tput = new Map<string, { runsPerSec: number; seconds: number; runLatency: Summary }>();
    for (const s of live()) {
      try {
        const t = await s.throughput3(cfg.warmup, cfg.runs);
        tput.set(s.name, t);
        note(`peers, ${cfg.runs} at once: ${s.name} ${t.runsPerSec.toFixed(1)} runs/s`);
      } catch (e) {
        fail(s.name, "throughput", e);
      }
    }
    const kt = tput.get("kernel");

    for (const s of systems) {
      const l = lat.get(s.name);
      const t = tput.get(s.name);
      const isKernel = s.name === "kernel";
      if (l && l.n > 0)
        emit("peers_3step_latency_ms", {
          system: s.name,
          version: s.version,
          p50: l.p50,
          p99: l.p99,
          mean: l.mean,
          runs: l.n,
          ...(isKernel ? {} : { ratio_p50: l.p50 / k3.p50, ratio_p99: l.p99 / k3.p99 }),
          stores: s.stores,
          loadavg: load(),
          what:
            "start to result of a 3-step workflow of trivial steps, one run at a time, each system on this machine " +
            `(${cfg.rounds} rounds, order rotated); ratio = this system / the kernel (> 1: the kernel is faster). Stores: ${s.stores}`,
        });
      if (t)
        emit("peers_throughput_runs_per_s", {
          system: s.name,
          version: s.version,
          runs_per_s: t.runsPerSec,
          steps_per_s: t.runsPerSec * 3,
          seconds: t.seconds,
          runs: cfg.runs,
          run_p50_ms: t.runLatency.p50,
          run_p99_ms: t.runLatency.p99,
          ...(isKernel || !kt ? {} : { ratio: kt.runsPerSec / t.runsPerSec }),
          stores: s.stores,
          loadavg: load(),
          what:
            `${cfg.runs} runs of the 3-step workflow started at once and awaited (after ${cfg.warmup} warm-up runs), each system with its defaults ` +
            `(kernel worker concurrency ${cfg.runs}); runs/s from the first start to the last result; ratio = kernel / this system (> 1: the kernel is faster). Stores: ${s.stores}`,
        });
    }
    const dbosLat = lat.get("dbos");
    const dbosT = tput.get("dbos");
    if (!figures.dbos && dbosLat && dbosLat.n > 0 && dbosT && kt)
      figures.dbos = {
        kernelLatency3: k3,
        dbosLatency3: dbosLat,
        kernelStepsPerSec: kt.runsPerSec * 3,
        dbosStepsPerSec: dbosT.runsPerSec * 3,
      };
  } finally {
    for (const s of systems) await s.close().catch((e) => note(`closing ${s.name}: ${String(e)}`));
  }
  if (failed.length) throw new Error(`peers that failed: ${[...new Set(failed)].join(", ")} (see the error lines)`);
}
