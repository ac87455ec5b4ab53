/**
 * Webhook requests this process handled or is handling, by a key (Twilio's I-Twilio-Idempotency-Token,
 * a MessageSid, a WhatsApp message id): a retry that arrives while the first attempt still runs waits
 * for it, and one that arrives after a successful attempt is answered without doing anything again.
 * A failed attempt is forgotten, so the provider's retry does the work. Bounded and in memory: the
 * durable guards (the inbound log, message source keys, the outbox, first-wins approvals, status
 * ranks) are what hold across restarts; this spares a second look at the database meanwhile.
 */
export class Recent {
  readonly #max: number;
  readonly #seen = new Map<string, Promise<boolean>>();

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** Runs `fn` unless one of `keys` was handled successfully; returns false when it did not run. */
  async once(keys: string[], fn: () => Promise<void>): Promise<boolean> {
    for (const k of keys) {
      const prior = this.#seen.get(k);
      if (prior && (await prior)) return false;
    }
    let settle!: (ok: boolean) => void;
    const done = new Promise<boolean>((r) => (settle = r));
    for (const k of keys) this.#remember(k, done);
    try {
      await fn();
      settle(true);
      return true;
    } catch (e) {
      settle(false);
      for (const k of keys) if (this.#seen.get(k) === done) this.#seen.delete(k);
      throw e;
    }
  }

  #remember(key: string, p: Promise<boolean>): void {
    this.#seen.delete(key);
    this.#seen.set(key, p);
    if (this.#seen.size > this.#max) this.#seen.delete(this.#seen.keys().next().value as string);
  }
}
