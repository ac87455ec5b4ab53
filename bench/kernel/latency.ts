import type { Kernel, Workflow } from "../../packages/kernel/src/index.ts";
import { sequential, summarize, type StoreFactory } from "../shared.ts";
import { CFG } from "./config.ts";
import { emit, note, perCall, snapshotCalls, withKernel } from "./harness.ts";
import type { Figures } from "./ratios.ts";

// ---- 1. latency -----------------------------------------------------------------------------------

/** Sequential runs of `wf`, one at a time: kernel.start() to run.result() resolving, in ms. */
export async function sequentialRuns(
  kernel: Kernel,
  wf: Workflow<number, number>,
  warmup: number,
  runs: number,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await (await kernel.start(wf, i)).result();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const h = await kernel.start(wf, i);
    await h.result();
    xs.push(performance.now() - t);
  }
  return xs;
}

export async function latency(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.latency;
  for (const steps of [3, 1]) {
    const wf = sequential(steps);
    await withKernel(
      factory,
      `latency-${steps}step`,
      { workflows: [wf as Workflow<never, unknown>] },
      async (kernel, store, timing) => {
        await sequentialRuns(kernel, wf, cfg.warmup, 0);
        const c0 = store.stats.commits;
        const r0 = store.stats.reads;
        const calls = snapshotCalls(timing);
        const s = summarize(await sequentialRuns(kernel, wf, 0, cfg.runs));
        if (steps === 3) figures.latency3 = s;
        emit(`workflow_${steps}step_latency_ms`, {
          ...s,
          sleeping_runs: 0,
          what: `kernel.start() to run.result() resolving, ${steps} sequential trivial step(s), one run at a time`,
          commits_per_run: (store.stats.commits - c0) / cfg.runs,
          reads_per_run: (store.stats.reads - r0) / cfg.runs,
          store_commit_ms: perCall(timing, calls, "commit").ms,
          store_claim_ms: perCall(timing, calls, "claim").ms,
        });
        note(`${steps}-step workflow latency: p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
      },
    );
  }

  // Per-step time inside a longer sequential workflow: the interval between consecutive step bodies starting.
  const starts = new Map<string, number[]>();
  const wf = sequential(cfg.longSteps, (runId) => {
    let a = starts.get(runId);
    if (!a) starts.set(runId, (a = []));
    a.push(performance.now());
  });
  await withKernel(
    factory,
    `latency-${cfg.longSteps}step`,
    { workflows: [wf as Workflow<never, unknown>] },
    async (kernel) => {
      await sequentialRuns(kernel, wf, Math.ceil(cfg.warmup / 10), 0);
      starts.clear();
      const runs = await sequentialRuns(kernel, wf, 0, cfg.longRuns);
      const gaps: number[] = [];
      for (const a of starts.values())
        for (let k = 1; k < a.length; k++) gaps.push((a[k] as number) - (a[k - 1] as number));
      const s = summarize(gaps);
      figures.latencyStep = s;
      emit("step_latency_ms", {
        ...s,
        what: `interval between consecutive step bodies starting inside a ${cfg.longSteps}-step sequential workflow (one commit each)`,
      });
      emit(`workflow_${cfg.longSteps}step_latency_ms`, {
        ...summarize(runs),
        what: "kernel.start() to run.result() resolving, one run at a time",
      });
      note(`per-step time: p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
    },
  );
}
