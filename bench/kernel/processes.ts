import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { Kernel, type Workflow } from "../../packages/kernel/src/index.ts";
import {
  sequential,
  summarize,
  type OpenedStore,
  type StoreFactory,
  type WorkerMessage,
  type WorkerSpec,
} from "../shared.ts";
import { CFG } from "./config.ts";
import { emit, kernelError, note, sleepMs, withTimeout } from "./harness.ts";
import type { ThroughputRep } from "./throughput.ts";
import type { Figures } from "./ratios.ts";

// ---- 5. worker processes sharing one database ---------------------------------------------------

export interface Workers {
  count: number;
  /** Stops every worker (each closes its kernel and store) and returns their store counters. */
  stop(): Promise<{ commits: number; reads: number; rowsRead: number }[]>;
}

const WORKER_SCRIPT = join(import.meta.dirname, "..", "kernel-worker.ts");

/** Spawns `count` worker processes (bench/kernel-worker.ts) on the database of `spec.store`; resolves once all run. */
export async function startWorkers(count: number, spec: WorkerSpec, label: string): Promise<Workers> {
  const procs: ChildProcess[] = [];
  const stopped: Promise<{ commits: number; reads: number; rowsRead: number }>[] = [];
  const ready: Promise<void>[] = [];
  for (let k = 0; k < count; k++) {
    // The child's stdout goes to our stderr: stdout carries only the JSON lines.
    const child = spawn(process.execPath, [WORKER_SCRIPT, JSON.stringify(spec)], { stdio: ["ignore", 2, 2, "ipc"] });
    procs.push(child);
    let onReady!: () => void;
    let onStopped!: (s: { commits: number; reads: number; rowsRead: number }) => void;
    let fail!: (e: Error) => void;
    ready.push(new Promise<void>((res, rej) => ((onReady = res), (fail = rej))));
    stopped.push(new Promise((res) => (onStopped = res)));
    child.on("message", (m: WorkerMessage) => {
      if (m.type === "ready") onReady();
      else if (m.type === "error") {
        kernelError(`${label}, worker process ${k}`, m.where, m.error);
      } else if (m.type === "stopped") onStopped(m.stats);
    });
    child.on("exit", (code, signal) => {
      fail(new Error(`${label}: worker process ${k} exited (${code ?? signal}) before it was ready`));
      onStopped({ commits: NaN, reads: NaN, rowsRead: NaN });
    });
  }
  const killAll = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  };
  try {
    await withTimeout(Promise.all(ready), 30_000, `${label}: worker processes to start`);
  } catch (e) {
    killAll();
    throw e;
  }
  return {
    count,
    async stop() {
      for (const p of procs) if (p.connected) p.send({ type: "stop" });
      try {
        return await withTimeout(Promise.all(stopped), 30_000, `${label}: worker processes to stop`);
      } finally {
        killAll();
      }
    },
  };
}

/** Polls the database (not the kernel) until `total` runs have ended; the latest completion time. */
export async function waitEnded(
  opened: OpenedStore,
  total: number,
  what: string,
  stallMs = 15_000,
): Promise<{ lastCompletedAt: number; seenAt: number }> {
  let last = -1;
  let since = performance.now();
  for (;;) {
    const p = await opened.progress();
    if (p.failed > 0) throw new Error(`${what}: ${p.failed} runs failed`);
    if (p.completed >= total) return { lastCompletedAt: p.lastCompletedAt ?? 0, seenAt: Date.now() };
    if (p.completed !== last) {
      last = p.completed;
      since = performance.now();
    } else if (performance.now() - since > stallMs) {
      throw new Error(`${what}: no run completed for ${stallMs / 1000} s (${p.completed} of ${total} completed)`);
    }
    await sleepMs(10);
  }
}

/** A client-only kernel (`worker: false`) on an opened store: starts runs, executes none. */
export function clientKernel(opened: OpenedStore, workflows: Workflow<never, unknown>[], label: string): Kernel {
  return new Kernel({
    store: opened.store,
    workflows,
    worker: false,
    onError: (e, where) => {
      kernelError(`${label}, client`, where, e);
    },
  });
}

/**
 * N worker processes on one database; this process starts the runs through a client kernel and
 * measures until the database says all have completed (their `completed_at`, written by the workers).
 */
export async function processes(factory: StoreFactory, figures: Figures): Promise<void> {
  const cfg = CFG.processes;
  const wf = sequential(cfg.steps);
  const results: { workers: number; stepsPerSec: number }[] = [];
  for (const count of cfg.counts) {
    const reps: ThroughputRep[] = [];
    for (let rep = 0; rep < cfg.reps; rep++) {
      const label = `processes-${count}-r${rep}`;
      const opened = await factory.open(label);
      const client = clientKernel(opened, [wf as Workflow<never, unknown>], label);
      let workers: Workers | null = null;
      try {
        workers = await startWorkers(
          count,
          {
            store: opened.spec,
            sequential: [cfg.steps],
            tick: false,
            concurrency: cfg.concurrency,
            ...(factory.remote ? {} : { pollMs: 20 }),
          },
          label,
        );
        const startAll = (runs: number, offset: number) =>
          Promise.all(Array.from({ length: runs }, (_, i) => client.start(wf, offset + i)));
        await startAll(cfg.warmup, 0);
        await waitEnded(opened, cfg.warmup, label);
        const wall0 = Date.now();
        const t = performance.now();
        await startAll(cfg.runs, cfg.warmup);
        const startSecs = (performance.now() - t) / 1000;
        const done = await waitEnded(opened, cfg.warmup + cfg.runs, label);
        const secs = (done.lastCompletedAt - wall0) / 1000;
        const stats = await workers.stop();
        workers = null;
        const commits = stats.reduce((a, s) => a + s.commits, 0);
        const reads = stats.reduce((a, s) => a + s.reads, 0);
        const total = cfg.runs + cfg.warmup;
        reps.push({
          secs,
          stepsPerSec: (cfg.runs * cfg.steps) / secs,
          fields: {
            seconds: secs,
            runs_per_s: cfg.runs / secs,
            start_seconds: startSecs,
            commits_and_claims_per_run: commits / total,
            reads_per_run: reads / total,
            per_worker_commits_and_claims: stats.map((s) => s.commits),
          },
        });
      } finally {
        await workers?.stop().catch(() => {});
        await client.close();
        await opened.close();
      }
    }
    const rates = summarize(reps.map((r) => r.stepsPerSec));
    const median = reps.find((r) => r.stepsPerSec === rates.p50) as ThroughputRep;
    results.push({ workers: count, stepsPerSec: rates.p50 });
    emit("throughput_processes", {
      workers: count,
      runs: cfg.runs,
      steps_per_run: cfg.steps,
      concurrency_per_worker: cfg.concurrency,
      reps: reps.length,
      steps_per_s: rates.p50,
      steps_per_s_min: rates.min,
      steps_per_s_max: rates.max,
      ...median.fields,
      what:
        `${count} worker process(es) on one database; ${cfg.runs} runs of ${cfg.steps} trivial steps started at once by a worker:false ` +
        "client kernel in this process; time from the first start to the last run's completed_at; median of fresh databases",
    });
    note(
      `throughput with ${count} worker process(es): ${rates.p50.toFixed(0)} steps/s (${rates.min.toFixed(0)}-${rates.max.toFixed(0)})`,
    );
  }
  figures.processes = results;
  const one = results.find((r) => r.workers === 1);
  if (one) {
    emit("ratio_throughput_processes_scaling", {
      ...Object.fromEntries(results.map((r) => [`workers_${r.workers}`, r.stepsPerSec / one.stepsPerSec])),
      what: "steps/s with N worker processes / steps/s with 1 (the machine's cores are shared with the database)",
    });
  }
}
