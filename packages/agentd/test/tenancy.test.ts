import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Tenants } from "../src/tenancy/tenants.ts";
import { UnscopedQueryError } from "../src/tenancy/scope.ts";
import { BACKENDS, pgUrl } from "./support/backends.ts";

if (!pgUrl)
  test("postgres tests of agentd", {
    skip: "no Postgres reachable (set DATABASE_URL or run ../shared/ci/postgres.sh start)",
  }, () => {});

for (const b of BACKENDS) {
  describe(`tenancy (${b.name})`, () => {
    test("a tenant scope sees only its tenant's rows and refuses statements without $tenant", async (t) => {
      const { db } = await b.db(t);
      const tenants = new Tenants(db);
      const a = await tenants.create("a");
      const c = await tenants.create("c");
      const now = Date.now();
      for (const [ten, conv] of [
        [a, "x"],
        [c, "y"],
      ] as const)
        await tenants
          .scope(ten.id)
          .run(
            "INSERT INTO os_sessions (id, tenant_id, channel, conversation, created_at, updated_at) VALUES (?, $tenant, 'http', ?, ?, ?)",
            [`s-${conv}`, conv, now, now],
          );
      const seen = await tenants
        .scope(a.id)
        .all<{ id: string }>("SELECT id FROM os_sessions WHERE tenant_id = $tenant");
      assert.deepEqual(
        seen.map((r) => r.id),
        ["s-x"],
      );
      await assert.rejects(tenants.scope(a.id).all("SELECT id FROM os_sessions"), UnscopedQueryError);
    });

    test("API keys resolve to their tenant until revoked; only a hash is stored", async (t) => {
      const { db } = await b.db(t);
      const tenants = new Tenants(db);
      const a = await tenants.create("a");
      const { id, key } = await tenants.createApiKey(a.id);
      assert.equal(await tenants.tenantOfKey(key), a.id);
      assert.equal(await tenants.tenantOfKey(`${key}x`), null);
      const rows = await db.all<{ hash: string }>("SELECT hash FROM os_api_keys");
      assert.ok(!JSON.stringify(rows).includes(key));
      await tenants.revokeApiKey(a.id, id);
      assert.equal(await tenants.tenantOfKey(key), null);
    });

    test("pairing codes bind an identity once, and expire", async (t) => {
      const { db } = await b.db(t);
      let now = 1_000_000;
      const tenants = new Tenants(db, () => now);
      const a = await tenants.create("a");
      assert.equal(await tenants.tenantOf("telegram", "42"), null);
      const { code } = await tenants.createPairingCode(a.id, 60_000);
      assert.equal(await tenants.redeemPairingCode(code.toLowerCase(), "telegram", "42"), a.id);
      assert.equal(await tenants.tenantOf("telegram", "42"), a.id);
      assert.equal(await tenants.redeemPairingCode(code, "telegram", "43"), null, "a code is good once");
      const late = await tenants.createPairingCode(a.id, 60_000);
      now += 61_000;
      assert.equal(await tenants.redeemPairingCode(late.code, "telegram", "44"), null, "expired");
      assert.deepEqual(
        (await tenants.identities(a.id)).map((i) => i.externalId),
        ["42"],
      );
    });

    test("settings are validated; a bad one is refused with its path and nothing changes", async (t) => {
      const { db } = await b.db(t);
      const tenants = new Tenants(db);
      const a = await tenants.create("a", { dailyTokenBudget: 1000 });
      await assert.rejects(tenants.update(a.id, { settings: { dailyTokenBudget: -1 } }), /dailyTokenBudget/);
      assert.equal((await tenants.require(a.id)).settings.dailyTokenBudget, 1000);
      assert.equal((await tenants.update(a.id, { settings: { maxIterations: 3 } })).settings.dailyTokenBudget, 1000);
    });
  });
}
