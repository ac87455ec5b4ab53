import type ssh2 from "ssh2";

interface Held {
  client: ssh2.Client;
  busy: number;
  timer: NodeJS.Timeout | null;
}

export interface PoolOptions {
  /** A connection unused this long is closed (default 30 s). */
  idleMs?: number;
  /** Open connections kept at most; the longest idle goes first when full (default 32). */
  max?: number;
}

/**
 * Connections reused within a turn: keyed by tenant, host, pinned key and run, so a connection never
 * serves another tenant, another host key or another turn. Each closes when idle; `close` ends all.
 */
export class SshPool {
  readonly #held = new Map<string, Promise<Held>>();
  readonly #idleMs: number;
  readonly #max: number;

  constructor(o: PoolOptions = {}) {
    this.#idleMs = o.idleMs ?? 30_000;
    this.#max = o.max ?? 32;
  }

  get size(): number {
    return this.#held.size;
  }

  /** Runs `use` on the connection for `key`, opening it with `open` when there is none (or it closed). */
  async with<T>(key: string, open: () => Promise<ssh2.Client>, use: (c: ssh2.Client) => Promise<T>): Promise<T> {
    let p = this.#held.get(key);
    if (!p) {
      this.#evict();
      p = open().then((client) => {
        const h: Held = { client, busy: 0, timer: null };
        client.once("close", () => {
          if (this.#held.get(key) === p) this.#held.delete(key);
        });
        return h;
      });
      this.#held.set(key, p);
      p.catch(() => {
        if (this.#held.get(key) === p) this.#held.delete(key);
      });
    }
    const h = await p;
    if (h.timer) clearTimeout(h.timer);
    h.busy++;
    try {
      return await use(h.client);
    } finally {
      h.busy--;
      if (h.busy === 0 && this.#held.get(key) === p) {
        h.timer = setTimeout(() => this.#drop(key), this.#idleMs);
        h.timer.unref();
      }
    }
  }

  /** Ends a connection now (after a timeout left a command behind, say). */
  drop(key: string): void {
    this.#drop(key);
  }

  #drop(key: string): void {
    const p = this.#held.get(key);
    this.#held.delete(key);
    void p?.then(
      (h) => h.client.end(),
      () => {},
    );
  }

  #evict(): void {
    if (this.#held.size < this.#max) return;
    const first = this.#held.keys().next();
    if (!first.done) this.#drop(first.value);
  }

  close(): void {
    for (const key of [...this.#held.keys()]) this.#drop(key);
  }
}
