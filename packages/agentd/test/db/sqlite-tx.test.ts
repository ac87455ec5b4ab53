// The SQLite store's transactions hold only their own statements: while one awaits, another
// caller's statement waits for it to end rather than running inside it (and being rolled back with
// it, or reading what it had not committed). Hammered with transactions that fail half of the time.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SqliteDb } from "../../src/db/sqlite.ts";

test("a statement outside a transaction is never part of it, however their awaits interleave", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-sqlite-tx-"));
  const db = new SqliteDb(join(dir, "t.db"));
  t.after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT NOT NULL)");
  const tick = () => new Promise<void>((r) => setImmediate(r));
  let outsideWrites = 0;
  let rolledBack = 0;
  let dirtyReads = 0;
  const deadline = Date.now() + 3_000;
  for (let round = 0; round < 300 && Date.now() < deadline; round++) {
    const inside = db
      .tx(async (tx) => {
        await tx.run("INSERT INTO t (who) VALUES ('tx')");
        await tick();
        await tx.run("INSERT INTO t (who) VALUES ('tx')");
        await tick();
        if (round % 2 === 0) throw new Error("rolled back");
      })
      .catch(() => rolledBack++);
    // Other callers, arriving while the transaction awaits: a write that must stay, a read that
    // must not see the transaction's uncommitted rows.
    const outside = (async () => {
      await tick();
      await db.run("INSERT INTO t (who) VALUES ('outside')");
      outsideWrites++;
      const seen = await db.get<{ n: number }>("SELECT count(*) AS n FROM t WHERE who = 'tx'");
      if ((seen?.n ?? 0) % 2 !== 0) dirtyReads++;
    })();
    await Promise.all([inside, outside]);
  }
  const kept = await db.get<{ n: number }>("SELECT count(*) AS n FROM t WHERE who = 'outside'");
  assert.ok(rolledBack > 10, `transactions rolled back: ${rolledBack}`);
  assert.equal(kept?.n, outsideWrites, "every outside write is kept, none rolled back with a transaction");
  assert.equal(dirtyReads, 0, "no outside read saw half of a transaction");
  const tx = await db.get<{ n: number }>("SELECT count(*) AS n FROM t WHERE who = 'tx'");
  assert.equal((tx?.n ?? 0) % 2, 0, "transactions are whole");
});
