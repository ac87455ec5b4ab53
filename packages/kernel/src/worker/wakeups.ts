import type { Clock } from "../clock.ts";

/**
 * When a worker looks for work without being told: exactly at the next due time it read from the
 * store (a timer on the kernel's clock, so fake time moves it), and on a slow safety poll in real
 * time for work another process wrote without a notice reaching this one.
 */
export class Wakeups {
  readonly #clock: Clock;
  readonly #pollMs: number;
  readonly #wake: () => void;
  #timer: unknown = null;
  #at: number | null = null;
  #pollTimer: NodeJS.Timeout | null = null;

  constructor(clock: Clock, pollMs: number, wake: () => void) {
    this.#clock = clock;
    this.#pollMs = pollMs;
    this.#wake = wake;
  }

  /** When the wake-up timer is set to fire (null: none armed). */
  get at(): number | null {
    return this.#at;
  }

  /** Wakes the worker at `at` (null: no due time known), replacing the time armed before. */
  arm(at: number | null): void {
    if (at === this.#at) return;
    this.clear();
    if (at === null) return;
    this.#at = at;
    this.#timer = this.#clock.setTimer(
      () => {
        this.#timer = null;
        this.#at = null;
        this.#wake();
      },
      Math.max(0, at - this.#clock.now()),
    );
  }

  clear(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#at = null;
  }

  /** Starts the safety poll; it runs until stopPolling(). */
  poll(): void {
    this.#pollTimer = setTimeout(() => {
      if (this.#pollTimer === null) return;
      this.#wake();
      this.poll();
    }, this.#pollMs);
    this.#pollTimer.unref();
  }

  stopPolling(): void {
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
  }
}
