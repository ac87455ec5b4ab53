import { FakeClock, workflow, type WorkerOptions, type Workflow } from "../../packages/kernel/src/index.ts";
import { summarize, type StoreFactory } from "../shared.ts";
import { CFG } from "./config.ts";
import { emit, note, until, withKernel } from "./harness.ts";

// ---- 3. resuming the k-th step of an n-step run ---------------------------------------------------

/** A FakeClock that also tells when its next timer is due. */
class BenchClock extends FakeClock {
  readonly #due = new Map<unknown, number>();
  override setTimer(fn: () => void, ms: number): unknown {
    const id: unknown = super.setTimer(() => {
      this.#due.delete(id);
      fn();
    }, ms);
    this.#due.set(id, this.now() + Math.max(0, ms));
    return id;
  }
  override clearTimer(handle: unknown): void {
    this.#due.delete(handle);
    super.clearTimer(handle);
  }
  nextDue(): number | null {
    let at: number | null = null;
    for (const t of this.#due.values()) if (at === null || t < at) at = t;
    return at;
  }
}

interface StepSeen {
  t: number;
  reads: number;
  rowsRead: number;
  syncMs: number;
}

export async function resume(factory: StoreFactory): Promise<void> {
  const cfg = CFG.resume;
  const SLEEP = 1_000; // fake ms: well inside the hot window
  for (const cache of ["hot", "replay"] as const) {
    for (const n of cfg.ns) {
      // The last K steps of each run are measured (K at most half the run), over enough runs for `samples` samples.
      const K = Math.min(cfg.samples, Math.ceil(n / 2));
      const runs = Math.ceil(cfg.samples / K);
      const clock = new BenchClock();
      const seen = new Map<number, StepSeen>();
      let wanted: { i: number; resolve: () => void } | null = null;
      let probe: (i: number) => void = () => {};
      // Loops n times over sleep + step. Only the last K sleeps suspend the run (the others are 0 ms and
      // journaled all the same), so the journal before step k has 2k-1 entries whichever way it got there.
      const wf = workflow("bench.loop", async (ctx, input: { n: number; sleepFrom: number }) => {
        for (let i = 0; i < input.n; i++) {
          await ctx.sleep(`z${i}`, i >= input.sleepFrom ? SLEEP : 0);
          await ctx.step(`s${i}`, () => (probe(i), i));
        }
        return input.n;
      });
      const worker: WorkerOptions = { leaseMs: 3_600_000, ...(cache === "replay" ? { hotCacheSize: 0 } : {}) };
      await withKernel(
        factory,
        `resume-${cache}-n${n}`,
        { workflows: [wf as Workflow<never, unknown>], worker, clock },
        async (kernel, store, timing) => {
          probe = (i) => {
            seen.set(i, {
              t: performance.now(),
              reads: store.stats.reads,
              rowsRead: store.stats.rowsRead,
              syncMs: timing.syncMs,
            });
            if (wanted && wanted.i === i) wanted.resolve();
          };
          const ms: number[] = [];
          const reads: number[] = [];
          const rows: number[] = [];
          const storeMs: number[] = [];
          const hotSeen: number[] = [];
          for (let r = 0; r < runs; r++) {
            seen.clear();
            const h = await kernel.start(wf, { n, sleepFrom: n - K });
            for (let i = n - K; i < n; i++) {
              // Suspended, and the worker's wake-up timer armed for the sleep's due time.
              await until(
                () => kernel.worker!.load.active === 0 && clock.nextDue() === clock.now() + SLEEP,
                `run to sleep before step ${i + 1}`,
              );
              hotSeen.push(kernel.worker!.load.hot);
              const stepped = new Promise<void>((resolve) => (wanted = { i, resolve }));
              const r0 = store.stats.reads;
              const rr0 = store.stats.rowsRead;
              const s0 = timing.syncMs;
              const t = performance.now();
              const advanced = clock.advance(SLEEP); // fires the worker's wake-up timer synchronously
              await stepped;
              const got = seen.get(i) as StepSeen;
              ms.push(got.t - t);
              reads.push(got.reads - r0);
              rows.push(got.rowsRead - rr0);
              storeMs.push(got.syncMs - s0);
              await advanced;
            }
            if ((await h.result()) !== n) throw new Error("resume: wrong result");
          }
          const s = summarize(ms);
          const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
          emit("resume_step_ms", {
            n,
            cache,
            k_from: n - K + 1,
            k_to: n,
            journal_entries_before_k: `${2 * (n - K) + 1}-${2 * n - 1}`,
            runs,
            p50: s.p50,
            p99: s.p99,
            max: s.max,
            mean: s.mean,
            samples: s.n,
            reads_per_resume: mean(reads),
            rows_read_per_resume: mean(rows),
            store_ms_per_resume: mean(storeMs),
            hot_cached_at_wake: Math.min(...hotSeen),
            what: "wake-up timer firing (FakeClock) to the body of step k running; includes the claim and the commit of the step's start",
          });
          note(`resume n=${n} ${cache}: p50 ${s.p50.toFixed(3)} ms, ${mean(rows).toFixed(0)} rows read/resume`);
        },
      );
    }
  }
}
