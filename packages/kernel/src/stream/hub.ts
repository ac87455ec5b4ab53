import type { Store } from "../store/types.ts";

/**
 * Who waits for which run's stream, in this process. Publishers in this process ring it directly;
 * a store shared between processes (Postgres) rings it from its notifications.
 */
export class StreamHub {
  readonly #waiting = new Map<string, Set<() => void>>();
  #unsubscribe: (() => void) | null = null;

  constructor(store: Store) {
    // Subscribe to the store lazily: only processes that read streams need a listening connection.
    this.#connect = () => {
      this.#unsubscribe ??= store.onStream?.((runId) => (runId ? this.ring(runId) : this.ringAll())) ?? (() => {});
    };
  }

  readonly #connect: () => void;

  /** Resolves at the next chunk of `runId` (or of any run, after a reconnection), or after `ms`. */
  next(runId: string, ms: number): { promise: Promise<void>; cancel(): void } {
    this.#connect();
    let set = this.#waiting.get(runId);
    if (!set) this.#waiting.set(runId, (set = new Set()));
    let done!: () => void;
    const promise = new Promise<void>((resolve) => {
      const t = setTimeout(() => done(), ms);
      done = () => {
        clearTimeout(t);
        set.delete(done);
        if (set.size === 0 && this.#waiting.get(runId) === set) this.#waiting.delete(runId);
        resolve();
      };
      set.add(done);
    });
    return { promise, cancel: () => done() };
  }

  ring(runId: string): void {
    for (const fn of [...(this.#waiting.get(runId) ?? [])]) fn();
  }

  ringAll(): void {
    for (const runId of [...this.#waiting.keys()]) this.ring(runId);
  }

  close(): void {
    this.#unsubscribe?.();
    this.ringAll();
  }
}
