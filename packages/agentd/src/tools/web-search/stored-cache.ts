import { createHash } from "node:crypto";
import type { TenantScope } from "../../tenancy/scope.ts";
import type { SearchResult } from "./types.ts";

/**
 * The search cache's shared layer, in the OS store (os_search_cache): a result list kept per tenant,
 * provider and query until it expires, so a step retried on another worker (or another worker's
 * turn asking the same) does not pay for the query again. Keys are hashed: the query's words are
 * not stored in the clear beside its results' expiry. Expired rows of a tenant go when it writes.
 */
export interface StoredCache {
  read(key: string, now: number): Promise<SearchResult[] | null>;
  write(key: string, results: SearchResult[], now: number, ttlMs: number): Promise<void>;
}

const hashOf = (key: string) => createHash("sha256").update(key).digest("base64url");

export function storedCache(scope: TenantScope): StoredCache {
  return {
    async read(key, now) {
      const row = await scope.get<{ value: string }>(
        "SELECT value FROM os_search_cache WHERE tenant_id = $tenant AND key = ? AND expires_at > ?",
        [hashOf(key), now],
      );
      return row ? (JSON.parse(row.value) as SearchResult[]) : null;
    },
    async write(key, results, now, ttlMs) {
      await scope.run("DELETE FROM os_search_cache WHERE tenant_id = $tenant AND expires_at <= ?", [now]);
      await scope.run(
        "INSERT INTO os_search_cache (tenant_id, key, value, expires_at) VALUES ($tenant, ?, ?, ?) ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
        [hashOf(key), JSON.stringify(results), now + ttlMs],
      );
    },
  };
}
