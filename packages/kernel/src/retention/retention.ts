import type { Clock } from "../clock.ts";
import type { Store } from "../store/types.ts";
import type { Telemetry } from "../telemetry/index.ts";
import { ENDED, type Ended, planRetention, type RetentionOptions, type RetentionPlan } from "./options.ts";

/** What one retention pass removed. */
export interface RetentionReport {
  /** Runs deleted, by how they ended. */
  runs: Record<Ended, number>;
  /** Tick records of schedules that started no run. */
  ticks: number;
  /** Pages SQLite gave back to the file system. */
  reclaimedPages: number;
  ms: number;
}

/**
 * Deletes ended runs older than their policy, on the worker, every `every` on the kernel's clock. Each
 * batch is its own short transaction and the event loop turns between batches, so claims and commits
 * go on during a pass. Workers sharing a store may pass at the same time: each skips what another holds.
 */
export class Retention {
  readonly plan: RetentionPlan;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #telemetry: Telemetry;
  readonly #onError: (e: unknown, where: string) => void;
  #timer: unknown = null;
  #running = false;
  #stopped = false;
  #pass: Promise<RetentionReport> | null = null;

  constructor(
    store: Store,
    clock: Clock,
    telemetry: Telemetry,
    onError: (e: unknown, where: string) => void,
    opts?: RetentionOptions,
  ) {
    this.plan = planRetention(opts);
    this.#store = store;
    this.#clock = clock;
    this.#telemetry = telemetry;
    this.#onError = onError;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm();
  }

  /** Stops the timer and waits for a pass in flight (it stops between batches). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopped = true;
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    await this.#pass?.catch(() => {});
  }

  /** The pass in flight, if any (tests await it after moving a FakeClock). */
  get current(): Promise<RetentionReport> | null {
    return this.#pass;
  }

  /** Runs a pass now (after the one in flight, which may have started at an earlier time) and reports what it removed. */
  async run(): Promise<RetentionReport> {
    while (this.#pass) await this.#pass.catch(() => {});
    const pass = this.#run().finally(() => {
      if (this.#pass === pass) this.#pass = null;
    });
    this.#pass = pass;
    return pass;
  }

  #arm(): void {
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = null;
      if (!this.#running) return;
      this.run()
        .catch((e) => this.#onError(e, "deleting old runs (retention)"))
        .finally(() => {
          if (this.#running) this.#arm();
        });
    }, this.plan.everyMs);
  }

  async #run(): Promise<RetentionReport> {
    const t0 = performance.now();
    const now = this.#clock.now();
    const report: RetentionReport = {
      runs: { completed: 0, cancelled: 0, failed: 0 },
      ticks: 0,
      reclaimedPages: 0,
      ms: 0,
    };
    const limit = this.plan.batchSize;
    // Between batches the event loop turns: commits and claims of this process go first.
    const next = () => new Promise((r) => setImmediate(r));
    for (const { scope, ages } of this.plan.rules) {
      for (const status of ENDED) {
        const age = ages[status];
        if (age === null) continue;
        for (let n = limit; n === limit && !this.#stopped; await next()) {
          n = await this.#store.deleteEndedRuns({ ...scope, status, endedBefore: now - age, limit });
          report.runs[status] += n;
        }
      }
      // Ticks that started no run are history of the schedule: kept as long as its completed runs.
      if (ages.completed !== null)
        for (let n = limit; n === limit && !this.#stopped; await next()) {
          n = await this.#store.deleteOldTicks(scope, now - ages.completed, limit);
          report.ticks += n;
        }
    }
    const removed = report.runs.completed + report.runs.cancelled + report.runs.failed;
    if (removed + report.ticks > 0) report.reclaimedPages = await this.#store.reclaimSpace();
    report.ms = Math.round(performance.now() - t0);
    if (removed + report.ticks > 0) this.#telemetry.retentionPass(report);
    return report;
  }
}
