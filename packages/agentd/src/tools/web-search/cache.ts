import type { StoredCache } from "./stored-cache.ts";
import type { SearchResult } from "./types.ts";

const PER_TENANT = 100;
const TENANTS = 1000;

interface Entry {
  at: number;
  value: Promise<SearchResult[]>;
}

/**
 * Result lists kept per tenant for a few minutes, so a retried step or the same question asked again
 * costs no second query. In memory here (bounded, the oldest go first; a search in flight is shared
 * by whoever asks the same meanwhile), and in the OS store when the caller gives it (`stored`), which
 * every worker reads: a step retried elsewhere finds the list there. A failed search is not kept.
 */
export class SearchCache {
  readonly #ttlMs: number;
  /** Tenant → key → entry; both maps in least-recently-used order. */
  readonly #tenants = new Map<string, Map<string, Entry>>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  /** The cached list for (tenant, key), or `load()`'s, which is then kept. `cached` says which. */
  async get(
    tenantId: string,
    key: string,
    now: number,
    load: () => Promise<SearchResult[]>,
    stored?: StoredCache,
  ): Promise<{ results: SearchResult[]; cached: boolean }> {
    let mine = this.#tenants.get(tenantId);
    if (mine) {
      this.#tenants.delete(tenantId);
      this.#tenants.set(tenantId, mine);
      const hit = mine.get(key);
      if (hit && now - hit.at < this.#ttlMs) {
        mine.delete(key);
        mine.set(key, hit);
        return { results: await hit.value, cached: true };
      }
      if (hit) mine.delete(key);
    } else {
      mine = new Map();
      this.#tenants.set(tenantId, mine);
      if (this.#tenants.size > TENANTS) this.#tenants.delete(this.#tenants.keys().next().value as string);
    }
    if (this.#ttlMs <= 0) return { results: await load(), cached: false };
    let fromStore = false;
    const entry: Entry = {
      at: now,
      value: (async () => {
        const kept = await stored?.read(key, now).catch(() => null);
        if (kept) {
          fromStore = true;
          return kept;
        }
        const results = await load();
        // A store that cannot take it costs a second query later, never this answer.
        await stored?.write(key, results, now, this.#ttlMs).catch(() => {});
        return results;
      })(),
    };
    mine.set(key, entry);
    if (mine.size > PER_TENANT) mine.delete(mine.keys().next().value as string);
    try {
      const results = await entry.value;
      return { results, cached: fromStore };
    } catch (e) {
      if (mine.get(key) === entry) mine.delete(key);
      throw e;
    }
  }

  /** How many lists are kept (all tenants). */
  get size(): number {
    let n = 0;
    for (const m of this.#tenants.values()) n += m.size;
    return n;
  }
}
