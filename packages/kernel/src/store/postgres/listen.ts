import pg from "pg";

/**
 * LISTEN on a dedicated connection (a pooled one would be handed to others), reconnecting with
 * back-off when the server goes away. Each notification calls every subscriber.
 */
export class Listener {
  readonly #config: pg.ClientConfig;
  readonly #channel: string;
  readonly #subs = new Set<(payload: string) => void>();
  #client: pg.Client | null = null;
  #closed = false;
  #retryMs = 100;
  #timer: NodeJS.Timeout | null = null;
  #connecting: Promise<void> | null = null;

  constructor(config: pg.ClientConfig, channel: string) {
    this.#config = config;
    this.#channel = channel;
  }

  subscribe(fn: (payload: string) => void): () => void {
    this.#subs.add(fn);
    if (!this.#client && !this.#timer && !this.#connecting)
      this.#connecting = this.#connect().finally(() => (this.#connecting = null));
    return () => this.#subs.delete(fn);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const c = this.#client;
    this.#client = null;
    await c?.end().catch(() => {});
    await this.#connecting?.catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const c = new pg.Client(this.#config);
    c.on("error", () => this.#lost(c));
    c.on("end", () => this.#lost(c));
    c.on("notification", (n) => {
      for (const fn of this.#subs) fn(n.payload ?? "");
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${this.#channel}`);
      if (this.#closed) {
        await c.end().catch(() => {});
        return;
      }
      this.#client = c;
      this.#retryMs = 100;
      // Anything may have happened while we were not listening.
      for (const fn of this.#subs) fn("");
    } catch {
      this.#lost(c);
    }
  }

  #lost(c: pg.Client): void {
    if (this.#client === c) this.#client = null;
    c.end().catch(() => {});
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connecting = this.#connect().finally(() => (this.#connecting = null));
    }, this.#retryMs);
    this.#timer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, 5_000);
  }
}
