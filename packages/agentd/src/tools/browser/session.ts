import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Resolver } from "../../net/guard.ts";
import type { NetPolicy } from "../types.ts";
import { BrowserError } from "./errors.ts";
import { type GuardProxy, type Refusal, startGuardProxy } from "../../net/proxy.ts";
import type { SavedBrowser } from "./state.ts";

const MAX_REFUSALS = 20;

/**
 * One tenant's browser context in this worker: its own cookies, storage and cache, its own guard
 * proxy, its pages (tabs) and which one is active, and what the guard refused since it was last asked.
 */
export class TenantSession {
  readonly tenantId: string;
  readonly context: BrowserContext;
  readonly #proxy: GuardProxy;
  readonly #maxPages: number;
  readonly #refusals: Refusal[];
  #pages: Page[] = [];
  #active = 0;
  /** The last state saved, as JSON: unchanged state is not written again. */
  lastSaved = "";
  /** Why the last save of this tenant's state failed (the vault full, the store down), until one succeeds. */
  saveError: string | null = null;
  lastUsed = 0;

  private constructor(
    tenantId: string,
    context: BrowserContext,
    proxy: GuardProxy,
    maxPages: number,
    refusals: Refusal[],
  ) {
    this.tenantId = tenantId;
    this.#refusals = refusals;
    this.context = context;
    this.#proxy = proxy;
    this.#maxPages = maxPages;
  }

  static async open(
    browser: Browser,
    tenantId: string,
    net: NetPolicy,
    saved: SavedBrowser | null,
    opts: { maxPages: number; actionTimeoutMs: number; resolve?: Resolver },
  ): Promise<TenantSession> {
    const refusals: Refusal[] = [];
    const proxy = await startGuardProxy(
      net,
      (r) => {
        refusals.push(r);
        if (refusals.length > MAX_REFUSALS) refusals.shift();
      },
      opts.resolve ? { resolve: opts.resolve } : {},
    );
    let context: BrowserContext;
    try {
      context = await browser.newContext({
        proxy: { server: proxy.url },
        serviceWorkers: "block",
        acceptDownloads: true,
        ...(saved ? { storageState: saved.storage } : {}),
        viewport: { width: 1280, height: 800 },
      });
    } catch (e) {
      await proxy.close();
      throw e;
    }
    context.setDefaultTimeout(opts.actionTimeoutMs);
    context.setDefaultNavigationTimeout(opts.actionTimeoutMs);
    const s = new TenantSession(tenantId, context, proxy, opts.maxPages, refusals);
    context.on("page", (p) => s.#adopt(p));
    if (saved) {
      // Pages come back at their URLs (a retried step re-opens the page; nothing is re-submitted).
      for (const url of saved.pages.slice(0, opts.maxPages)) {
        if (!/^https?:\/\//i.test(url)) continue;
        const p = await context.newPage();
        await p.goto(url, { waitUntil: "domcontentloaded" }).catch(() => {});
      }
      s.#active = Math.min(Math.max(0, saved.active), Math.max(0, s.#pages.length - 1));
    }
    return s;
  }

  #adopt(p: Page): void {
    if (this.#pages.includes(p)) return;
    if (this.#pages.length >= this.#maxPages) {
      // A popup beyond the limit is closed rather than left running unseen.
      void p.close().catch(() => {});
      this.#refusals.push({
        url: p.url(),
        reason: `a new tab was closed: this tenant may have ${this.#maxPages} pages open`,
      });
      if (this.#refusals.length > MAX_REFUSALS) this.#refusals.shift();
      return;
    }
    this.#pages.push(p);
    this.#active = this.#pages.length - 1;
    p.on("close", () => {
      const i = this.#pages.indexOf(p);
      if (i < 0) return;
      this.#pages.splice(i, 1);
      if (this.#active >= this.#pages.length) this.#active = Math.max(0, this.#pages.length - 1);
    });
  }

  /** The active page, opening a blank one when there is none. */
  async page(): Promise<Page> {
    const p = this.#pages[this.#active];
    if (p && !p.isClosed()) return p;
    if (this.#pages.length >= this.#maxPages)
      throw new BrowserError("limit", `this tenant has ${this.#maxPages} pages open, the most it may: close one first`);
    return this.context.newPage(); // adopted by the "page" event, and made active
  }

  /** A new tab (within the limit), made active. */
  async newPage(): Promise<Page> {
    if (this.#pages.length >= this.#maxPages)
      throw new BrowserError("limit", `this tenant has ${this.#maxPages} pages open, the most it may: close one first`);
    return this.context.newPage();
  }

  pages(): readonly Page[] {
    return this.#pages;
  }

  get active(): number {
    return this.#active;
  }

  select(index: number): Page {
    const p = this.#pages[index];
    if (!p)
      throw new BrowserError("stale", `there is no tab ${index}: the open tabs are 0 to ${this.#pages.length - 1}`);
    this.#active = index;
    return p;
  }

  /** What the guard refused since the last call (and forgets it). */
  takeRefusals(): Refusal[] {
    return this.#refusals.splice(0);
  }

  async state(): Promise<SavedBrowser> {
    return {
      storage: await this.context.storageState(),
      pages: this.#pages.map((p) => p.url()).filter((u) => /^https?:/i.test(u)),
      active: this.#active,
    };
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => {});
    await this.#proxy.close();
  }
}
