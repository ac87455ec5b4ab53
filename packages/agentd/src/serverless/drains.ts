import type { DrainReport, Kernel } from "@agentd/kernel";

/** Under this much time left, a drain is not started: the next invocation or tick does the work. */
const MIN_BUDGET_MS = 100;
/**
 * The end of a drain during which no new step starts (the kernel's grace): a model call or tool
 * step in flight then finishes and is recorded rather than cut and paid again by the next drain.
 * Half the budget, at most 30 s: steps longer than that are still cut, and made again.
 */
const graceOf = (budgetMs: number) => Math.floor(Math.min(budgetMs / 2, 30_000));

/**
 * The drains of one function instance, one at a time (a kernel drains once at a time). A request that
 * starts work while a drain runs wakes it (the kernel signals it); one drain more is queued behind it,
 * so work that arrived as the running one was ending still gets a pass in this invocation.
 */
export class Drains {
  readonly #kernel: Pick<Kernel, "drain">;
  #running: Promise<DrainReport | null> | null = null;
  #queued: Promise<DrainReport | null> | null = null;

  constructor(kernel: Pick<Kernel, "drain">) {
    this.#kernel = kernel;
  }

  /** Drains due work until `deadline` (performance.now() time), after the drain under way if any. */
  run(deadline: number): Promise<DrainReport | null> {
    if (this.#queued) return this.#queued;
    if (!this.#running) return (this.#running = this.#start(deadline));
    const queued = this.#running.then(() => {
      this.#queued = null;
      return (this.#running = this.#start(deadline));
    });
    this.#queued = queued;
    return queued;
  }

  /** The drain under way or queued, if any: an invocation that ends waits for it. */
  settled(): Promise<unknown> {
    return this.#queued ?? this.#running ?? Promise.resolve();
  }

  async #start(deadline: number): Promise<DrainReport | null> {
    try {
      const budgetMs = Math.floor(deadline - performance.now());
      return budgetMs < MIN_BUDGET_MS ? null : await this.#kernel.drain({ budgetMs, graceMs: graceOf(budgetMs) });
    } finally {
      this.#running = null;
    }
  }
}
