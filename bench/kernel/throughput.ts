import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Kernel, Workflow } from "../../packages/kernel/src/index.ts";
import { sequential, summarize } from "../shared.ts";
import { CFG } from "./config.ts";
import { emit, note, perCall, snapshotCalls, withKernel } from "./harness.ts";
import type { Figures } from "./ratios.ts";
import type { KernelStoreFactory } from "./stores.ts";

/** A full garbage collection now (the flag that exposes gc() set at run time, for this one call). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

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

export async function throughput(factory: KernelStoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.throughput;
  const wf = sequential(cfg.steps);
  const expected = (cfg.steps * (cfg.steps - 1)) / 2;
  const steps = cfg.runs * cfg.steps;
  let best: { stepsPerSec: number; raw: number[]; paired: number[] } | null = null;
  /** Every raw rep of this section, all concurrencies: the ratio's denominator. */
  const rawAll: number[] = [];
  /**
   * A raw rep before the first kernel rep and after each one (raw, kernel, raw, kernel, ..., raw), each
   * with as many rows as the kernel's journal: both see the same load, and each kernel rep is divided
   * by the mean of its two neighbours.
   */
  const rawRep = async (into: number[]) => {
    if (!factory.batchRate) return;
    // The kernel rep before it leaves garbage behind: collected first, so the raw rep does not pay for it
    // (that would flatter the ratio).
    collectGarbage();
    const r = (await factory.batchRate(steps, CFG.limits.batchSize)).rowsPerSec;
    into.push(r);
    rawAll.push(r);
  };
  for (const concurrency of cfg.concurrency) {
    const reps: ThroughputRep[] = [];
    const raw: number[] = [];
    await rawRep(raw);
    for (let rep = 0; rep < cfg.reps; rep++) {
      const label = `throughput-c${concurrency}-r${rep}`;
      // Each kernel rep starts on a collected heap too, whatever the sections and reps before it left.
      collectGarbage();
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
      await rawRep(raw);
    }
    const rates = summarize(reps.map((r) => r.stepsPerSec));
    const paired = raw.length
      ? reps.map((r, i) => r.stepsPerSec / (((raw[i] as number) + (raw[i + 1] as number)) / 2))
      : [];
    const median = reps.find((r) => r.stepsPerSec === rates.p50) as ThroughputRep;
    if (!best || rates.p50 > best.stepsPerSec) best = { stepsPerSec: rates.p50, raw, paired };
    emit("throughput", {
      runs: cfg.runs,
      steps_per_run: cfg.steps,
      concurrency,
      reps: reps.length,
      steps_per_s: rates.p50,
      steps_per_s_min: rates.min,
      steps_per_s_max: rates.max,
      ...median.fields,
      ...(raw.length
        ? {
            raw_rows_per_s: summarize(raw).p50,
            raw_rows_per_s_min: summarize(raw).min,
            raw_rows_per_s_max: summarize(raw).max,
            paired_ratio: summarize(paired).p50,
            paired_ratio_min: summarize(paired).min,
            paired_ratio_max: summarize(paired).max,
          }
        : {}),
      what: `${cfg.runs} runs of ${cfg.steps} trivial steps started at once, awaited with run.result(); median of ${reps.length} fresh databases`,
    });
    note(
      `throughput c=${concurrency}: ${rates.p50.toFixed(0)} steps/s (${rates.min.toFixed(0)}-${rates.max.toFixed(0)}), ` +
        `${(median.fields.groups_per_commit as number).toFixed(0)} groups/commit, store ${(100 * (median.fields.store_share as number)).toFixed(0)}% of wall time`,
    );
  }
  if (!best) return;
  figures.stepsPerSec = best.stepsPerSec;
  if (rawAll.length)
    figures.interleaved = {
      rowsPerSec: summarize(rawAll),
      pairedRatio: summarize(best.paired),
    };
}
