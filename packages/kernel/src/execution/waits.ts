import type { Clock } from "../clock.ts";
import type { Waiter } from "../commands/index.ts";

/**
 * What one execution is blocked on: waits (a timer, an event, a child) and work in flight (step
 * bodies, writes). While work is in flight a local timer covers the earliest wait; when nothing is in
 * flight and no wait can complete, the run can be suspended.
 */
export class Waits {
  readonly #clock: Clock;
  readonly #waiters = new Set<Waiter>();
  #inflight = 0;
  #timer: unknown = null;
  #timerAt: number | null = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** The events and children the waits are for, each once (what a suspended run is woken by). */
  targets(): { events: string[]; children: string[] } {
    const events = new Set<string>();
    const children: string[] = [];
    for (const w of this.#waiters) {
      if (w.event) events.add(w.event);
      if (w.child) children.push(w.child);
    }
    return { events: [...events], children };
  }

  add(w: Waiter): void {
    this.#waiters.add(w);
  }

  /** Counts `p` in flight until it settles; `idle` runs when the last one does. */
  track<T>(p: Promise<T>, idle: () => void): Promise<T> {
    this.#inflight++;
    // then, not finally: finally makes two more promises and a closure each time (two calls a step).
    return p.then(
      (v) => {
        if (--this.#inflight === 0) idle();
        return v;
      },
      (e: unknown) => {
        if (--this.#inflight === 0) idle();
        throw e;
      },
    );
  }

  /** Completes every wait that can complete at `now`; true if any did. */
  fire(now: number): boolean {
    let fired = false;
    for (const w of this.#waiters) {
      if (w.poll(now)) {
        this.#waiters.delete(w);
        fired = true;
      }
    }
    return fired;
  }

  /** The earliest time a wait (or the run's deadline) is due; null: only an event or a child ends them. */
  earliest(deadline: number | null): number | null {
    let at = deadline;
    for (const w of this.#waiters) if (w.wakeAt !== null && (at === null || w.wakeAt < at)) at = w.wakeAt;
    return at;
  }

  /** Sets the local timer to the earliest wait, calling `due` then. */
  arm(now: number, deadline: number | null, due: () => void): void {
    const at = this.earliest(deadline);
    if (at === this.#timerAt) return;
    this.clearTimer();
    this.#timerAt = at;
    if (at !== null)
      this.#timer = this.#clock.setTimer(() => ((this.#timer = null), (this.#timerAt = null), due()), at - now);
  }

  clearTimer(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerAt = null;
  }

  /** Forgets every wait and the timer (the run stopped). */
  clear(): void {
    this.#waiters.clear();
    this.clearTimer();
  }
}
