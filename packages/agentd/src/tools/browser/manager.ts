import type { Browser } from "playwright-core";
import type { Resolver } from "../../net/guard.ts";
import type { NetPolicy } from "../types.ts";
import { canSandbox } from "./chromium.ts";
import { BrowserError } from "./errors.ts";
import { TenantSession } from "./session.ts";
import type { BrowserStateStore } from "./state.ts";

export interface BrowserLimits {
  /** Tenants with an open context in this worker; the least recently used idle one is closed (its state is saved) beyond. */
  maxContexts: number;
  /** Pages (tabs) per tenant. */
  maxPages: number;
  /** Browser work running at once in this worker (the rest waits its turn). */
  concurrency: number;
  /** Each action and navigation. */
  actionTimeoutMs: number;
  /** The browser process is closed after this long without work (launched again on the next use). */
  idleMs: number;
}

export const DEFAULT_LIMITS: BrowserLimits = {
  maxContexts: 8,
  maxPages: 5,
  concurrency: 2,
  actionTimeoutMs: 15_000,
  idleMs: 5 * 60_000,
};

export interface BrowserManagerOptions {
  executablePath: string;
  net: NetPolicy;
  state: BrowserStateStore;
  limits?: Partial<BrowserLimits>;
  /** How the guard resolves host names (tests pass their own, e.g. to rebind a name to 127.0.0.1). */
  resolve?: Resolver;
}

const WEBRTC_ARGS = [
  // WebRTC's UDP would go around the proxy (and so around the guard): only proxied traffic.
  "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
  "--webrtc-ip-handling-policy=disable_non_proxied_udp",
  "--disable-quic",
  "--disable-features=DnsOverHttps,NetworkPrediction",
  "--no-pings",
];

/**
 * The browser of one worker: one Chromium process, launched over Playwright's pipe on first use and
 * closed when idle; one context per tenant (state restored from the store when opened, saved after
 * every use); a bounded number of uses at once, and one at a time per tenant.
 */
export class BrowserManager {
  readonly limits: BrowserLimits;
  readonly #opts: BrowserManagerOptions;
  #browser: Promise<Browser> | null = null;
  readonly #sessions = new Map<string, Promise<TenantSession>>();
  /** Per tenant: the tail of its queue of uses. */
  readonly #tenantTail = new Map<string, Promise<unknown>>();
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  #idle: NodeJS.Timeout | null = null;
  #closed = false;
  /** How many times a browser process was launched (for tests and figures). */
  launches = 0;

  constructor(opts: BrowserManagerOptions) {
    this.#opts = opts;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
  }

  /**
   * Runs `fn` with the tenant's session; its state is saved afterwards, whether `fn` succeeded or not.
   * When `signal` aborts (the turn cancelled, the step out of time), the tenant's context is closed
   * unsaved, which stops whatever Playwright was doing in it at once: the next use reopens the pages
   * of the last saved state, as a retried step does.
   */
  async use<T>(tenantId: string, fn: (s: TenantSession) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#closed) throw new BrowserError("unavailable", "the browser is shut down (agentd is stopping)");
    signal?.throwIfAborted();
    return this.#serial(tenantId, () => this.#slot(() => this.#run(tenantId, fn, signal)));
  }

  /**
   * Closes this worker's context of the tenant without saving it: the next use opens it from the
   * saved state. For after a person changed that state elsewhere (a login in a live view served by
   * another process): what this worker holds is older than what the vault has.
   */
  async forget(tenantId: string): Promise<void> {
    await this.#serial(tenantId, async () => {
      const p = this.#sessions.get(tenantId);
      if (!p) return;
      this.#sessions.delete(tenantId);
      await (await p.catch(() => null))?.close();
    });
  }

  /** Work on one tenant's context, one at a time. */
  #serial<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tenantTail.get(tenantId) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(fn);
    const tail = run.catch(() => {});
    this.#tenantTail.set(tenantId, tail);
    void tail.then(() => {
      if (this.#tenantTail.get(tenantId) === tail) this.#tenantTail.delete(tenantId);
    });
    return run;
  }

  async #run<T>(tenantId: string, fn: (s: TenantSession) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const s = await this.#session(tenantId);
    s.lastUsed = Date.now();
    let stopped = false;
    const stop = () => {
      stopped = true;
      if (this.#sessions.has(tenantId)) this.#sessions.delete(tenantId);
      void s.close();
    };
    if (signal?.aborted) stop();
    signal?.addEventListener("abort", stop, { once: true });
    try {
      if (stopped) throw new Error("stopped");
      return await fn(s);
    } catch (e) {
      if (stopped)
        throw new BrowserError("failed", "the browser step was stopped (the turn was cancelled or ran out of time)", {
          cause: e,
        });
      throw e;
    } finally {
      signal?.removeEventListener("abort", stop);
      // A failed save leaves the last saved state; the next step tries again and tells the model.
      if (!stopped)
        await this.#save(s).then(
          () => (s.saveError = null),
          (e: unknown) => (s.saveError = (e as Error).message.slice(0, 300)),
        );
    }
  }

  async #save(s: TenantSession): Promise<void> {
    const state = await s.state();
    const json = JSON.stringify(state);
    if (json === s.lastSaved) return;
    await this.#opts.state.save(s.tenantId, state);
    s.lastSaved = json;
  }

  /** Waits for one of `concurrency` slots; the browser's idle timer runs only when no slot is taken. */
  async #slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limits.concurrency) await new Promise<void>((ok) => this.#waiting.push(ok));
    this.#running++;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    try {
      return await fn();
    } finally {
      this.#running--;
      const next = this.#waiting.shift();
      if (next) next();
      else if (this.#running === 0 && !this.#closed) {
        this.#idle = setTimeout(() => void this.#closeBrowser(), this.limits.idleMs);
        this.#idle.unref();
      }
    }
  }

  #session(tenantId: string): Promise<TenantSession> {
    let s = this.#sessions.get(tenantId);
    if (!s) {
      s = this.#openSession(tenantId);
      this.#sessions.set(tenantId, s);
      s.catch(() => this.#sessions.get(tenantId) === s && this.#sessions.delete(tenantId));
    }
    return s;
  }

  async #openSession(tenantId: string): Promise<TenantSession> {
    await this.#evictBeyond(this.limits.maxContexts - 1, tenantId);
    const browser = await this.#launch();
    const saved = await this.#opts.state.load(tenantId);
    const s = await TenantSession.open(browser, tenantId, this.#opts.net, saved, {
      maxPages: this.limits.maxPages,
      actionTimeoutMs: this.limits.actionTimeoutMs,
      ...(this.#opts.resolve ? { resolve: this.#opts.resolve } : {}),
    });
    s.lastSaved = saved ? JSON.stringify(saved) : "";
    return s;
  }

  /** Closes the least recently used tenants' contexts (not `keep`, not busy) until at most `n` stay open. */
  async #evictBeyond(n: number, keep: string): Promise<void> {
    const open: TenantSession[] = [];
    for (const [id, p] of this.#sessions) {
      if (id === keep || this.#tenantTail.has(id)) continue;
      const s = await p.catch(() => null);
      if (s) open.push(s);
    }
    const busy = this.#sessions.size - open.length - (this.#sessions.has(keep) ? 1 : 0);
    open.sort((a, b) => a.lastUsed - b.lastUsed);
    while (open.length + busy > Math.max(0, n) && open.length) {
      const s = open.shift()!;
      this.#sessions.delete(s.tenantId);
      await this.#save(s).catch(() => {});
      await s.close();
    }
    if (busy > n)
      throw new BrowserError(
        "limit",
        `this worker has ${this.limits.maxContexts} tenants browsing at once, the most it may: try again shortly`,
      );
  }

  #launch(): Promise<Browser> {
    if (!this.#browser) {
      this.launches++;
      // playwright-core is loaded on first use: importing it takes about a second (far more on a busy
      // machine), which every agentd start, doctor and test would pay otherwise.
      const b = import("playwright-core").then(({ chromium }) =>
        chromium.launch({
          executablePath: this.#opts.executablePath,
          chromiumSandbox: canSandbox(),
          args: WEBRTC_ARGS,
          timeout: 30_000,
        }),
      );
      this.#browser = b;
      b.then(
        (browser) =>
          browser.on("disconnected", () => {
            // A crashed or closed browser takes its contexts with it: the next use starts over from saved state.
            if (this.#browser === b) this.#browser = null;
            this.#sessions.clear();
          }),
        () => {
          if (this.#browser === b) this.#browser = null;
        },
      );
      return b.catch((e: unknown) => {
        throw new BrowserError(
          "unavailable",
          `Chromium (${this.#opts.executablePath}) did not start: ${(e as Error).message.split("\n")[0]}; check that it is installed (apt-get install chromium) or set AGENTD_CHROMIUM`,
          { cause: e },
        );
      });
    }
    return this.#browser;
  }

  async #closeBrowser(): Promise<void> {
    const b = this.#browser;
    if (!b || this.#running > 0) return;
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    this.#browser = null;
    for (const p of sessions) {
      const s = await p.catch(() => null);
      if (s) {
        await this.#save(s).catch(() => {});
        await s.close();
      }
    }
    await (await b.catch(() => null))?.close().catch(() => {});
  }

  /** Whether a browser process is up, and how many tenants have a context open. */
  stats(): { browser: boolean; contexts: number } {
    return { browser: this.#browser !== null, contexts: this.#sessions.size };
  }

  /** Saves every tenant's state and closes the browser. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#idle) clearTimeout(this.#idle);
    await Promise.allSettled([...this.#tenantTail.values()]);
    await this.#closeBrowser();
  }
}
