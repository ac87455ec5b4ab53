import type { Clock } from "../clock.ts";
import type { DrainReport } from "./types.ts";

/** What a drain needs from its worker. */
export interface DrainHost {
  readonly clock: Clock;
  /** One pass over the store: fire schedules, claim what is due. */
  tick(): Promise<void>;
  /** No run is executing or loading. */
  idle(): boolean;
  /** When the next due timer fires (null: none armed). */
  wakeAt(): number | null;
}

/**
 * One serverless drain: passes over due work until none is left or the budget (wall time) is nearly
 * spent. The margin left at the end is for handing back the runs still executing, so every run is
 * consistent when the call returns and the next call, in any process, carries on. With a grace, the
 * drain stops that long before its end: nothing more is claimed and runs stop at their next new
 * command, so a step in flight (a paid model call) finishes and is recorded instead of being cut
 * short and made again; only a step longer than the grace is still cut at the end.
 */
export class Drain {
  readonly report: DrainReport = { claimed: 0, finished: 0, suspended: 0, handedBack: 0, ms: 0 };
  readonly #t0 = performance.now();
  readonly #deadline: number;
  readonly #ending: number;
  #wake: (() => void) | null = null;
  /** The grace began: runs yield at their next new command. */
  ending = false;

  constructor(budgetMs: number, graceMs = 0) {
    const margin = Math.min(250, Math.max(20, budgetMs * 0.15));
    this.#deadline = this.#t0 + budgetMs - margin;
    this.#ending = this.#deadline - Math.max(0, Math.min(graceMs, budgetMs - margin));
  }

  /** Something happened (a run finished or suspended, new work): stop waiting and make a pass. */
  wake(): void {
    this.#wake?.();
  }

  /** Makes passes until nothing more is claimed and nothing runs, or the deadline. */
  async run(host: DrainHost): Promise<void> {
    const report = this.report;
    for (;;) {
      if (!this.ending && performance.now() >= this.#ending) this.ending = true;
      if (this.ending) {
        // The grace: nothing more is claimed; the runs held end their steps in flight and suspend.
        if (host.idle() || performance.now() >= this.#deadline) break;
      } else {
        const before = report.claimed;
        await host.tick();
        if ((host.idle() && report.claimed === before) || performance.now() >= this.#deadline) break;
      }
      // Wait for a run to finish or suspend (it signals), a due timer, the grace, or the deadline.
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        const wakeAt = host.wakeAt();
        const until = this.ending ? this.#deadline : this.#ending;
        const timer = wakeAt === null || this.ending ? 50 : wakeAt - host.clock.now();
        setTimeout(resolve, Math.max(0, Math.min(until - performance.now(), timer)));
      });
      this.#wake = null;
    }
  }

  /** The report, with the time the drain took. */
  done(): DrainReport {
    this.report.ms = Math.round(performance.now() - this.#t0);
    return this.report;
  }
}
