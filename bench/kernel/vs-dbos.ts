import type { Workflow } from "../../packages/kernel/src/index.ts";
import { openDbos } from "../dbos.ts";
import { sequential, summarize, type StoreFactory } from "../shared.ts";
import { CFG, PG_URL } from "./config.ts";
import { emit, note, withKernel } from "./harness.ts";
import { sequentialRuns } from "./latency.ts";
import { startAndAwait } from "./throughput.ts";
import type { Figures } from "./ratios.ts";

// ---- 7. the same workload on DBOS Transact ------------------------------------------------------------

/**
 * The 3-step latency and the 10-step throughput measured here for both systems with the same counts,
 * one after the other on the same Postgres server, each in this one process with its default pool.
 */
export async function dbos(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.dbos;
  const steps = CFG.throughput.steps;
  const d = await openDbos(PG_URL, steps, note);
  try {
    const wf3 = sequential(3);
    const k3 = await withKernel(
      factory,
      "vs-dbos-3step",
      { workflows: [wf3 as Workflow<never, unknown>] },
      async (kernel) => summarize(await sequentialRuns(kernel, wf3, cfg.latencyWarmup, cfg.latencyRuns)),
    );
    const d3 = summarize(await d.latency3(cfg.latencyWarmup, cfg.latencyRuns));
    emit("vs_dbos_workflow_3step_latency_ms", {
      kernel_p50: k3.p50,
      kernel_p99: k3.p99,
      dbos_p50: d3.p50,
      dbos_p99: d3.p99,
      ratio_p50: d3.p50 / k3.p50,
      ratio_p99: d3.p99 / k3.p99,
      runs: cfg.latencyRuns,
      dbos_version: d.version,
      what: "start to result of a 3-step workflow, one run at a time, kernel vs DBOS on the same Postgres; ratio = DBOS / kernel (> 1: the kernel is faster)",
    });
    note(`vs DBOS, 3-step latency p50: kernel ${k3.p50.toFixed(2)} ms, DBOS ${d3.p50.toFixed(2)} ms`);

    const wf = sequential(steps);
    const expected = (steps * (steps - 1)) / 2;
    const kRates: number[] = [];
    const dRates: number[] = [];
    for (let rep = 0; rep < cfg.reps; rep++) {
      await withKernel(
        factory,
        `vs-dbos-throughput-r${rep}`,
        { workflows: [wf as Workflow<never, unknown>], worker: { concurrency: cfg.runs } },
        async (kernel) => {
          await startAndAwait(kernel, wf, cfg.warmup, 0, expected);
          const t = performance.now();
          await startAndAwait(kernel, wf, cfg.runs, cfg.warmup, expected);
          kRates.push((cfg.runs * steps) / ((performance.now() - t) / 1000));
        },
      );
      dRates.push((await d.throughput(cfg.warmup, cfg.runs)).stepsPerSec);
    }
    const k = summarize(kRates);
    const db = summarize(dRates);
    figures.dbos = { kernelLatency3: k3, dbosLatency3: d3, kernelStepsPerSec: k.p50, dbosStepsPerSec: db.p50 };
    emit("vs_dbos_throughput_steps_per_s", {
      kernel: k.p50,
      kernel_min: k.min,
      kernel_max: k.max,
      dbos: db.p50,
      dbos_min: db.min,
      dbos_max: db.max,
      ratio: k.p50 / db.p50,
      runs: cfg.runs,
      steps_per_run: steps,
      reps: cfg.reps,
      dbos_version: d.version,
      what:
        `${cfg.runs} runs of ${steps} trivial steps started at once and awaited, one process each (kernel worker concurrency ${cfg.runs}, ` +
        "DBOS starts them all at once); median of reps; ratio = kernel / DBOS",
    });
    note(`vs DBOS, throughput: kernel ${k.p50.toFixed(0)} steps/s, DBOS ${db.p50.toFixed(0)} steps/s`);
  } finally {
    await d.close();
  }
}
