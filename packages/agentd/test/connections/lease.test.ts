/**
 * The OAuth refresh lease (connections/lease.ts) on both stores: one holder at a time across
 * holders that share nothing but the store (hammered), a holder that died is taken over once its
 * lease runs out, and a late holder cannot give back a lease another took over.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { withLease } from "../../src/connections/lease.ts";
import { Tenants } from "../../src/tenancy/tenants.ts";
import { BACKENDS } from "../support/backends.ts";

for (const b of BACKENDS)
  describe(`the refresh lease (${b.name})`, () => {
    test("hammered: concurrent holders never overlap; every one gets its turn", async (t) => {
      const { db } = await b.db(t);
      const tenants = new Tenants(db, Date.now);
      const scope = tenants.scope((await tenants.create("t")).id);
      const other = tenants.scope((await tenants.create("u")).id);
      let inside = 0;
      let most = 0;
      let done = 0;
      const until = Date.now() + 4_000;
      const worker = async (s: typeof scope) => {
        for (let i = 0; i < 500 && Date.now() < until; i++)
          await withLease(s, "mcp:notes", { now: Date.now, waitMs: 30_000 }, async () => {
            if (s === scope) {
              inside++;
              most = Math.max(most, inside);
              await new Promise((r) => setImmediate(r));
              inside--;
            }
            done++;
          });
      };
      await Promise.all([...Array.from({ length: 6 }, () => worker(scope)), worker(other)]);
      assert.equal(most, 1, "never two holders at once");
      assert.ok(done >= 50, `${done} leases held`);
      const left = await db.all("SELECT * FROM os_oauth_leases");
      assert.deepEqual(left, [], "every lease given back");
    });

    test("a holder that died is taken over after its lease; the late one cannot give back the new holder's", async (t) => {
      const { db } = await b.db(t);
      const tenants = new Tenants(db, Date.now);
      const scope = tenants.scope((await tenants.create("t")).id);
      const clock = { now: 1_000_000 };
      // A holder that died mid-refresh: its row stays until its lease runs out.
      await scope.run("INSERT INTO os_oauth_leases (tenant_id, name, owner, until) VALUES ($tenant, ?, ?, ?)", [
        "mcp:notes",
        "dead",
        clock.now + 30_000,
      ]);
      await assert.rejects(
        withLease(scope, "mcp:notes", { now: () => clock.now, waitMs: 50 }, async () => "never"),
        /being refreshed elsewhere/,
      );
      clock.now += 30_000;
      let release!: () => void;
      const held = withLease(
        scope,
        "mcp:notes",
        { now: () => clock.now },
        () => new Promise<void>((r) => (release = r)),
      );
      await new Promise((r) => setTimeout(r, 50));
      const row = await scope.get<{ owner: string }>("SELECT owner FROM os_oauth_leases WHERE tenant_id = $tenant");
      assert.notEqual(row?.owner, "dead", "taken over");
      // The dead holder's give-back (by its owner id) leaves the new holder's lease alone.
      await scope.run("DELETE FROM os_oauth_leases WHERE tenant_id = $tenant AND name = ? AND owner = ?", [
        "mcp:notes",
        "dead",
      ]);
      assert.ok(await scope.get("SELECT 1 AS x FROM os_oauth_leases WHERE tenant_id = $tenant"));
      release();
      await held;
      assert.equal(await scope.get("SELECT 1 AS x FROM os_oauth_leases WHERE tenant_id = $tenant"), undefined);
    });
  });
