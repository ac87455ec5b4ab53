import type { Execution } from "../execution.ts";

/**
 * Suspended executions kept alive so the worker can resume them without replay. Bounded (least
 * recently suspended go first), and only for runs due again soon: a run sleeping for hours, or a
 * flood of sleepers, costs no memory.
 */
export class HotCache {
  readonly #size: number;
  readonly #windowMs: number;
  readonly #runs = new Map<string, Execution>();

  constructor(size: number, windowMs: number) {
    this.#size = size;
    this.#windowMs = windowMs;
  }

  get size(): number {
    return this.#runs.size;
  }

  /** Keeps `exec` if it is due within the window (or waits only for an event or a child). */
  offer(exec: Execution, now: number): void {
    if (this.#size <= 0 || (exec.wakeAt !== null && exec.wakeAt - now > this.#windowMs)) return;
    this.#runs.set(exec.runId, exec);
    if (this.#runs.size > this.#size) this.#runs.delete(this.#runs.keys().next().value as string);
  }

  /** Removes and returns the kept execution of a run, if any. */
  take(runId: string): Execution | undefined {
    const e = this.#runs.get(runId);
    this.#runs.delete(runId);
    return e;
  }

  clear(): void {
    this.#runs.clear();
  }
}
