/**
 * Requests per tenant in the last minute, in this process (a sliding window). Several API processes
 * each enforce the limit on what they receive.
 */
export class RateLimiter {
  readonly #hits = new Map<string, number[]>();
  readonly #windowMs: number;
  #sweptAt = 0;

  constructor(windowMs = 60_000) {
    this.#windowMs = windowMs;
  }

  /** Counts one request; 0 when allowed, else the milliseconds until one is. */
  take(key: string, limit: number, now: number): number {
    this.#sweep(now);
    const hits = this.#hits.get(key) ?? [];
    while (hits.length > 0 && (hits[0] as number) <= now - this.#windowMs) hits.shift();
    if (hits.length >= limit) return Math.max(1, (hits[hits.length - limit] as number) + this.#windowMs - now);
    hits.push(now);
    this.#hits.set(key, hits);
    return 0;
  }

  /** Forgets tenants idle for a whole window, so the map does not grow with every tenant ever seen. */
  #sweep(now: number): void {
    if (now - this.#sweptAt < this.#windowMs) return;
    this.#sweptAt = now;
    for (const [key, hits] of this.#hits) if ((hits.at(-1) ?? 0) <= now - this.#windowMs) this.#hits.delete(key);
  }
}
