import { type Kernel, workflow, type Workflow } from "../../packages/kernel/src/index.ts";
import { sequential, summarize, type StoreFactory } from "../shared.ts";
import { CFG } from "./config.ts";
import { emit, note, perCall, snapshotCalls, until, withKernel } from "./harness.ts";
import { sequentialRuns } from "./latency.ts";

// ---- 4. wake-up lag of a durable timer -----------------------------------------------------------

/** Offset between performance.now()-based time and Date.now(), measured at a millisecond edge of Date.now(). */
function wallOffset(): number {
  const xs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const d0 = Date.now();
    let p = 0;
    let d = d0;
    while (d === d0) {
      p = performance.timeOrigin + performance.now();
      d = Date.now();
    }
    xs.push(p - d);
  }
  return summarize(xs).p50;
}

/** A workflow that sleeps `ms` (its input) and notes when its code continues; `lags` reads the due times back. */
function timerProbe() {
  const resumed = new Map<string, number>();
  let offset = wallOffset();
  const wf = workflow("bench.timer", async (ctx, ms: number) => {
    await ctx.sleep("t", ms);
    resumed.set(ctx.runId, performance.timeOrigin + performance.now() - offset); // the workflow code continuing
    return ms;
  });
  return {
    wf,
    calibrate: () => void (offset = wallOffset()),
    /** Resume time minus due time (the sleep's journaled wake_at, whole ms) of each run. */
    async lags(kernel: Kernel, ids: string[]): Promise<number[]> {
      const out: number[] = [];
      for (const id of ids) {
        const sleep = (await kernel.journal(id)).find((e) => e.kind === "sleep");
        if (sleep?.wakeAt == null || !resumed.has(id))
          throw new Error(`timer: run ${id} has no sleep or did not resume`);
        out.push((resumed.get(id) as number) - sleep.wakeAt);
      }
      return out;
    },
    /** Sleeps of `count` runs, one at a time, spread over [min, max] ms; returns their lags. */
    async sequential(kernel: Kernel, count: number, min: number, max: number): Promise<number[]> {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        this.calibrate(); // the two clocks may drift apart (NTP slewing): align them before every sample
        const h = await kernel.start(wf, spread(i, count, min, max));
        await h.result();
        ids.push(h.id);
      }
      return this.lags(kernel, ids);
    },
  };
}

/** The i-th of `count` values spread (shuffled) over [min, max]. */
function spread(i: number, count: number, min: number, max: number): number {
  return min + Math.round(((max - min) * ((i * 7919) % count)) / Math.max(1, count - 1));
}

export async function timers(factory: StoreFactory): Promise<void> {
  const cfg = CFG.timer;
  const probe = timerProbe();
  const wfs = [probe.wf as Workflow<never, unknown>];
  await withKernel(factory, "timer-sequential", { workflows: wfs }, async (kernel, _store, timing) => {
    await probe.sequential(kernel, 3, 5, 5); // warm-up
    const calls = snapshotCalls(timing);
    const s = summarize(await probe.sequential(kernel, cfg.sequential, cfg.minMs, cfg.maxMs));
    emit("timer_wake_lag_ms", {
      ...s,
      concurrent: 1,
      sleeping_runs: 0,
      sleep_ms: `${cfg.minMs}-${cfg.maxMs}`,
      store_claim_ms: perCall(timing, calls, "claim").ms,
      store_next_wake_at_ms: perCall(timing, calls, "nextWakeAt").ms,
      what: "workflow code continuing after ctx.sleep minus the sleep's due time (wake_at, whole ms), one run at a time",
    });
    note(`timer lag (one at a time): p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
  });
  await withKernel(
    factory,
    "timer-concurrent",
    { workflows: wfs, worker: { concurrency: cfg.concurrent } },
    async (kernel) => {
      probe.calibrate();
      const handles = await Promise.all(
        Array.from({ length: cfg.concurrent }, (_, i) =>
          kernel.start(probe.wf, spread(i, cfg.concurrent, cfg.minMs, cfg.maxMs)),
        ),
      );
      await Promise.all(handles.map((h) => h.result()));
      const s = summarize(
        await probe.lags(
          kernel,
          handles.map((h) => h.id),
        ),
      );
      emit("timer_wake_lag_ms", {
        ...s,
        concurrent: cfg.concurrent,
        sleeping_runs: 0,
        sleep_ms: `${cfg.minMs}-${cfg.maxMs}`,
        what: `as above, ${cfg.concurrent} runs started together, their timers spread over the range`,
      });
      note(`timer lag (${cfg.concurrent} at once): p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms`);
    },
  );
}

// ---- 4b. the same with many other runs asleep -------------------------------------------------------

/**
 * A sleeping run should cost nothing until it is due. Parks `sleeping` runs on a 1 h timer, then
 * repeats the 3-step latency and the timer lag, and reports the store calls the worker makes on
 * every wake-up (claim, nextWakeAt).
 */
export async function background(factory: StoreFactory): Promise<void> {
  const cfg = CFG.background;
  const probe = timerProbe();
  const wf3 = sequential(3);
  const sleeper = workflow("bench.sleeper", async (ctx) => {
    await ctx.sleep("long", "1h");
    return null;
  });
  const wfs = [probe.wf, wf3, sleeper] as Workflow<never, unknown>[];
  for (const sleeping of cfg.sleeping) {
    await withKernel(
      factory,
      `background-${sleeping}`,
      { workflows: wfs, worker: { concurrency: 2_000 } },
      async (kernel, _store, timing) => {
        const t = performance.now();
        for (let b = 0; b < sleeping; b += 2_000) {
          await Promise.all(Array.from({ length: Math.min(2_000, sleeping - b) }, () => kernel.start(sleeper, null)));
          await until(() => kernel.worker!.load.active === 0, "the sleepers to suspend", 120_000);
        }
        note(`${sleeping} runs asleep (1 h) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        let calls = snapshotCalls(timing);
        const lat = summarize(await sequentialRuns(kernel, wf3, 20, cfg.latencyRuns));
        const claim = perCall(timing, calls, "claim");
        const wake = perCall(timing, calls, "nextWakeAt");
        emit("workflow_3step_latency_ms", {
          ...lat,
          sleeping_runs: sleeping,
          what: `as workflow_3step_latency_ms, with ${sleeping} other runs asleep on a 1 h timer`,
          store_claim_ms: claim.ms,
          store_next_wake_at_ms: wake.ms,
          claims_per_run: claim.n / (cfg.latencyRuns + 20),
          next_wake_at_per_run: wake.n / (cfg.latencyRuns + 20),
        });
        calls = snapshotCalls(timing);
        const lag = summarize(await probe.sequential(kernel, cfg.timerSamples, CFG.timer.minMs, CFG.timer.maxMs));
        emit("timer_wake_lag_ms", {
          ...lag,
          concurrent: 1,
          sleeping_runs: sleeping,
          sleep_ms: `${CFG.timer.minMs}-${CFG.timer.maxMs}`,
          what: `as timer_wake_lag_ms (one at a time), with ${sleeping} other runs asleep on a 1 h timer`,
          store_claim_ms: perCall(timing, calls, "claim").ms,
          store_next_wake_at_ms: perCall(timing, calls, "nextWakeAt").ms,
        });
        note(
          `with ${sleeping} asleep: 3-step p50 ${lat.p50.toFixed(3)} ms, timer lag p50 ${lag.p50.toFixed(3)} ms; ` +
            `claim ${claim.ms.toFixed(3)} ms, nextWakeAt ${wake.ms.toFixed(3)} ms per call`,
        );
      },
    );
  }
}
