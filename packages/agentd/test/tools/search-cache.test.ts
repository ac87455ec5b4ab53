/**
 * web_search's cache shared through the OS store: a second worker (another WebSearch, as in another
 * process) asked the same question by the same tenant pays no second query; another tenant does; an
 * expired list is asked again; the stored key does not show the query.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NetPolicy } from "../../src/tools/types.ts";
import { WebSearch } from "../../src/tools/web-search/index.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { startBrave } from "../support/search-servers.ts";

const KEY = "BSA-operator-key-123";
const CLOSED: NetPolicy = { allowPrivate: false, allowHosts: [] };

for (const b of BACKENDS) {
  describe(`the search cache in the OS store (${b.name})`, () => {
    test("a step retried on another worker finds the list there: no second query; per tenant; until it expires", async (t) => {
      const brave = await startBrave(KEY);
      t.after(() => brave.close());
      const { app, tenantId } = await testAgentd(t, b);
      const other = (await app.tenants.create("other")).id;
      const worker = () =>
        new WebSearch({ provider: "brave", braveApiKey: KEY, braveApiBase: brave.url, cacheMs: 60_000 });
      const call = (tenant: string, now: number) => ({
        tenantId: tenant,
        scope: app.tenants.scope(tenant),
        now,
        net: CLOSED,
        signal: new AbortController().signal,
        secrets: { get: async () => null },
      });
      const q = { query: "Harbour tides", count: 5 };

      const first = await worker().search(call(tenantId, 1_000), q);
      assert.equal(first.cached, false);
      const elsewhere = await worker().search(call(tenantId, 30_000), q);
      assert.equal(elsewhere.cached, true, "another worker read it from the store");
      assert.deepEqual(elsewhere.results, first.results);
      assert.equal(brave.requests.length, 1);

      await worker().search(call(other, 30_000), q);
      assert.equal(brave.requests.length, 2, "another tenant asks for itself");
      assert.equal((await worker().search(call(tenantId, 61_001), q)).cached, false, "expired after its lifetime");
      assert.equal(brave.requests.length, 3);

      const rows = await app.tenants
        .scope(tenantId)
        .all<{ key: string; expires_at: number }>(
          "SELECT key, expires_at FROM os_search_cache WHERE tenant_id = $tenant",
        );
      assert.equal(rows.length, 1, "the expired row went when the new one was written");
      assert.equal(Number(rows[0]!.expires_at), 121_001);
      assert.doesNotMatch(rows[0]!.key, /harbour|tides/i);
    });
  });
}
