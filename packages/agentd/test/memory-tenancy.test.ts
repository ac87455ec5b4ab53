import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { migrate } from "../src/db/index.ts";
import { MIGRATIONS } from "../src/db/schema.ts";
import { SqliteDb } from "../src/db/sqlite.ts";
import { MemoryStore } from "../src/memory/store.ts";
import { Tenants } from "../src/tenancy/tenants.ts";
import { BACKENDS } from "./support/backends.ts";

for (const b of BACKENDS) {
  describe(`full-text search per tenant (${b.name})`, () => {
    test("one tenant's entries do not change how another's rank: the index counts words per tenant", async (t) => {
      const { db } = await b.db(t);
      const tenants = new Tenants(db);
      const a = tenants.scope((await tenants.create("a")).id);
      const other = tenants.scope((await tenants.create("other")).id);
      const store = new MemoryStore();
      // In a's entries "quince" is rarer than "plum", so the entry with "quince" ranks first.
      const rare = await store.add(a, { content: "quince jam recipe" });
      await store.add(a, { content: "plum cake recipe" });
      await store.add(a, { content: "plum tart recipe" });
      const before = (await store.search(a, "quince plum")).map((e) => e.id);
      if (b.name === "sqlite") assert.equal(before[0], rare.id, "bm25 weighs the rarer word more"); // ts_rank weighs no word by rarity
      // Another tenant writes "quince" everywhere: a's ranking must not move (with one shared count of
      // documents per word it would: "quince" would become the common word).
      for (let i = 0; i < 60; i++) await store.add(other, { content: `quince number ${i}` });
      assert.deepEqual(
        (await store.search(a, "quince plum")).map((e) => e.id),
        before,
      );
      assert.equal((await store.search(other, "quince")).length, 10);
      assert.ok((await store.search(a, "number")).length === 0, "no hit from another tenant");
      // Deleting removes the entry from the index (the trigger), and so does removing a tenant.
      assert.ok(await store.forget(a, rare.id));
      assert.deepEqual((await store.search(a, "quince")).length, 0);
      assert.deepEqual((await store.search(a, "quin")).length, 0, "prefixes too");
      if (b.name === "sqlite") {
        await tenants.delete(other.tenantId);
        const left = await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM os_memories_fts");
        assert.equal(Number(left?.n), 2, "a removed tenant's entries leave the index with it");
      }
    });
  });
}

test("an os.db from before the per-tenant index is migrated: its entries are found, each by its own tenant", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-fts-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const old = new SqliteDb(join(dir, "os.db"));
  old.exec("CREATE TABLE os_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  for (const m of MIGRATIONS.filter((x) => x.version <= 4)) {
    old.exec(m.sql("sqlite"));
    await old.run("INSERT INTO os_schema (version, applied_at) VALUES (?, 0)", [m.version]);
  }
  await old.run("INSERT INTO os_tenants (id, name, created_at) VALUES ('ten_one', 'one', 0), ('ten_two', 'two', 0)");
  await old.run(`INSERT INTO os_memories (id, tenant_id, content, created_at) VALUES
    ('mem_1', 'ten_one', 'Meeting with Ana on Friday', 1), ('mem_2', 'ten_two', 'Meetings are on Mondays', 2), ('mem_3', 'ten_one', 'Café near the office', 3)`);
  assert.deepEqual(await migrate(old), { from: 4, to: MIGRATIONS.at(-1)!.version });
  const tenants = new Tenants(old);
  const store = new MemoryStore();
  assert.deepEqual(
    (await store.search(tenants.scope("ten_one"), "meet")).map((e) => e.id),
    ["mem_1"],
  );
  assert.deepEqual(
    (await store.search(tenants.scope("ten_two"), "meet")).map((e) => e.id),
    ["mem_2"],
  );
  assert.deepEqual(
    (await store.search(tenants.scope("ten_one"), "cafe")).map((e) => e.id),
    ["mem_3"],
    "diacritics fold as before",
  );
  await old.close();
});
