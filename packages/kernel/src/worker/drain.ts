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
 * consistent when the call returns and the next call, in any process, carries on.
 */
export class Drain {
  readonly report: DrainReport = { claimed: 0, finished: 0, suspended: 0, handedBack: 0, ms: 0 };
  readonly #t0 = performance.now();
  readonly #deadline: number;
  #wake: (() => void) | null = null;

  constructor(budgetMs: number) {
    const margin = Math.min(250, Math.max(20, budgetMs * 0.15));
    this.#deadline = this.#t0 + budgetMs - margin;
  }

  /** Something happened (a run finished or suspended, new work): stop waiting and make a pass. */
  wake(): void {
    this.#wake?.();
  }

  /** Makes passes until nothing more is claimed and nothing runs, or the deadline. */
  async run(host: DrainHost): Promise<void> {
    const report = this.report;
    for (;;) {
      const before = report.claimed;
      await host.tick();
      if ((host.idle() && report.claimed === before) || performance.now() >= this.#deadline) break;
      // Wait for a run to finish or suspend (it signals), a due timer, or the deadline.
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        const wakeAt = host.wakeAt();
        setTimeout(
          resolve,
          Math.max(0, Math.min(this.#deadline - performance.now(), wakeAt === null ? 50 : wakeAt - host.clock.now())),
        );
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
