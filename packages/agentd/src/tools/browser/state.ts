import type { BrowserContext } from "playwright-core";
import type { TenantScope } from "../../tenancy/scope.ts";
import type { Vault } from "../../vault/vault.ts";

type StorageState = Awaited<ReturnType<BrowserContext["storageState"]>>;

/** What survives a restart or another worker taking over: cookies and local storage, and the open pages' URLs. */
export interface SavedBrowser {
  storage: StorageState;
  pages: string[];
  active: number;
}

/** Where a tenant's browser state is kept between steps (the vault, encrypted with the tenant's key). */
export interface BrowserStateStore {
  load(tenantId: string): Promise<SavedBrowser | null>;
  save(tenantId: string, state: SavedBrowser): Promise<void>;
}

/** The vault name of the state: reserved (sys.), so no tool reads it and the secrets API does not touch it. */
export const STATE_SECRET = "sys.browser.state";
/** Under the vault's 64 KB per value. */
export const MAX_STATE_BYTES = 60_000;

/**
 * The state as JSON under `max` bytes: when it is larger, local storage goes first (largest origins
 * first), then cookies (largest first): a login cookie is small and stays.
 */
export function fitState(s: SavedBrowser, max = MAX_STATE_BYTES): { json: string; dropped: number } {
  const state: SavedBrowser = {
    storage: { cookies: [...s.storage.cookies], origins: [...s.storage.origins] },
    pages: s.pages.slice(0, 10).map((u) => u.slice(0, 2000)),
    active: s.active,
  };
  let json = JSON.stringify(state);
  let dropped = 0;
  const size = (x: unknown) => JSON.stringify(x).length;
  state.storage.origins.sort((a, b) => size(a) - size(b));
  state.storage.cookies.sort((a, b) => size(a) - size(b));
  while (Buffer.byteLength(json, "utf8") > max && (state.storage.origins.length || state.storage.cookies.length)) {
    if (state.storage.origins.length) state.storage.origins.pop();
    else state.storage.cookies.pop();
    dropped++;
    json = JSON.stringify(state);
  }
  return { json, dropped };
}

/** The vault as the state store: each tenant's state sealed with its own key (AES-256-GCM, like every secret). */
export function vaultStateStore(vault: Vault, scope: (tenantId: string) => TenantScope): BrowserStateStore {
  return {
    async load(tenantId) {
      const json = await vault.get(scope(tenantId), STATE_SECRET);
      if (!json) return null;
      try {
        const s = JSON.parse(json) as SavedBrowser;
        return Array.isArray(s.storage?.cookies) && Array.isArray(s.pages) ? s : null;
      } catch {
        return null; // unreadable: start clean rather than fail every browser step
      }
    },
    async save(tenantId, state) {
      await vault.put(scope(tenantId), STATE_SECRET, fitState(state).json);
    },
  };
}
