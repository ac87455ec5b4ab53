import type { FinishedRun } from "./worker/types.ts";

/**
 * Callers waiting for runs to end (`kernel.result`), told when a run ends on this kernel's worker. A
 * run that ends elsewhere is seen by reading the store again: each wait also ends after a while.
 */
export class RunEnds {
  readonly #waiters = new Map<string, Set<(r: FinishedRun | null) => void>>();

  /** Resolves with the run's outcome when it ends on this worker, or null after `pollMs` (or a cancel): look again. */
  wait(runId: string, pollMs: number): Promise<FinishedRun | null> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(runId);
      if (!set) this.#waiters.set(runId, (set = new Set()));
      const done = (end: FinishedRun | null) => {
        clearTimeout(t);
        set.delete(done);
        resolve(end);
      };
      const t = setTimeout(() => done(null), pollMs);
      set.add(done);
    });
  }

  /** The run ended (`end`), or changed so that its waiters should look again (null). */
  wake(runId: string, end: FinishedRun | null = null): void {
    const set = this.#waiters.get(runId);
    if (!set) return;
    this.#waiters.delete(runId);
    for (const w of set) w(end);
  }

  /** Every waiter looks again (the kernel is closing). */
  wakeAll(): void {
    for (const set of this.#waiters.values()) for (const w of set) w(null);
  }
}
