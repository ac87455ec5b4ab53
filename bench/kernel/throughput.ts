import type { Kernel, Workflow } from "../../packages/kernel/src/index.ts";
import { sequential, summarize, type StoreFactory } from "../shared.ts";
import { CFG } from "./config.ts";
import { emit, note, perCall, snapshotCalls, withKernel } from "./harness.ts";
import type { Figures } from "./ratios.ts";

// ---- 2. throughput --------------------------------------------------------------------------------

export interface ThroughputRep {
  secs: number;
  stepsPerSec: number;
  fields: Record<string, unknown>;
}

/** Starts `runs` runs at once and waits for all their results; returns each run's start-to-result time. */
export async function startAndAwait(
  kernel: Kernel,
  wf: Workflow<number, number>,
  runs: number,
  offset: number,
  expected: number,
): Promise<number[]> {
  const t = performance.now();
  const handles = await Promise.all(Array.from({ length: runs }, (_, i) => kernel.start(wf, offset + i)));
  const lat: number[] = [];
  const results = await Promise.all(handles.map((h) => h.result().then((v) => (lat.push(performance.now() - t), v))));
  const bad = results.filter((v) => v !== expected).length;
  if (bad) throw new Error(`throughput: ${bad} runs returned a wrong result`);
  return lat;
}

export async function throughput(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.throughput;
  const wf = sequential(cfg.steps);
  const expected = (cfg.steps * (cfg.steps - 1)) / 2;
  let best = 0;
  for (const concurrency of cfg.concurrency) {
    const reps: ThroughputRep[] = [];
    for (let rep = 0; rep < cfg.reps; rep++) {
      const label = `throughput-c${concurrency}-r${rep}`;
      await withKernel(
        factory,
        label,
        { workflows: [wf as Workflow<never, unknown>], worker: { concurrency } },
        async (kernel, store, timing) => {
          const batch = (runs: number, offset: number) => startAndAwait(kernel, wf, runs, offset, expected);
          await batch(cfg.warmup, 0);
          const t0 = { ...timing, calls: snapshotCalls(timing) };
          const c0 = store.stats.commits;
          const r0 = store.stats.reads;
          const t = performance.now();
          const lat = await batch(cfg.runs, cfg.warmup);
          const secs = (performance.now() - t) / 1000;
          const steps = cfg.runs * cfg.steps;
          const commits = timing.commits - t0.commits;
          const l = summarize(lat);
          reps.push({
            secs,
            stepsPerSec: steps / secs,
            fields: {
              seconds: secs,
              runs_per_s: cfg.runs / secs,
              run_latency_p50_ms: l.p50,
              run_latency_p99_ms: l.p99,
              commits,
              store_commits: store.stats.commits - c0,
              groups_per_commit: (timing.groups - t0.groups) / commits,
              row_writes_per_step: (timing.ops - t0.ops) / steps,
              max_commit_ms: timing.maxCommitMs,
              claims: perCall(timing, t0.calls, "claim").n,
              reads_per_run: (store.stats.reads - r0) / cfg.runs,
              get_run_per_run: perCall(timing, t0.calls, "getRun").n / cfg.runs,
              store_share: (timing.syncMs - t0.syncMs) / 1000 / secs,
              commit_share: (timing.commitMs - t0.commitMs) / 1000 / secs,
            },
          });
        },
      );
    }
    const rates = summarize(reps.map((r) => r.stepsPerSec));
    const median = reps.find((r) => r.stepsPerSec === rates.p50) as ThroughputRep;
    best = Math.max(best, rates.p50);
    emit("throughput", {
      runs: cfg.runs,
      steps_per_run: cfg.steps,
      concurrency,
      reps: reps.length,
      steps_per_s: rates.p50,
      steps_per_s_min: rates.min,
      steps_per_s_max: rates.max,
      ...median.fields,
      what: `${cfg.runs} runs of ${cfg.steps} trivial steps started at once, awaited with run.result(); median of ${reps.length} fresh databases`,
    });
    note(
      `throughput c=${concurrency}: ${rates.p50.toFixed(0)} steps/s (${rates.min.toFixed(0)}-${rates.max.toFixed(0)}), ` +
        `${(median.fields.groups_per_commit as number).toFixed(0)} groups/commit, store ${(100 * (median.fields.store_share as number)).toFixed(0)}% of wall time`,
    );
  }
  figures.stepsPerSec = best;
}
