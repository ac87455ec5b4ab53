import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import pg from "pg";
import { openSqliteStore } from "../src/index.ts";
import { openPostgresStore } from "../src/store/postgres/index.ts";
import { migratePostgres, PG_SCHEMA_VERSION } from "../src/store/postgres/schema.ts";
import { migrate, SCHEMA_VERSION } from "../src/store/sqlite/schema.ts";
import { pgUrl } from "./backends.ts";

const RUN = [
  "r-old",
  "default",
  "legacy",
  null,
  "completed",
  '"in"',
  '"out"',
  null,
  null,
  null,
  3,
  null,
  null,
  null,
  null,
  null,
  null,
  1,
  2,
  3,
];

test("sqlite: a database written by the first schema is upgraded in place, its runs kept", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-migrate-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "old.db");
  const db = new DatabaseSync(path);
  migrate(db, path, 1);
  db.prepare(`INSERT INTO runs VALUES (${RUN.map(() => "?").join(", ")})`).run(...RUN);
  db.close();
  const store = await openSqliteStore(path);
  t.after(() => store.close());
  const run = await store.getRun("r-old");
  assert.equal(run?.output, '"out"');
  assert.equal(run?.epoch, 3);
  assert.deepEqual(await store.listSchedules({}), [], "the tables of version 2 exist");
  const check = new DatabaseSync(path);
  assert.equal(
    (check.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number }).v,
    SCHEMA_VERSION,
  );
  check.close();
});

test("sqlite: the migrations a database lacks are applied in one transaction, all or none", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-migrate-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "new.db");
  const db = new DatabaseSync(path);
  t.after(() => db.close());
  // A table with the name of the newest migration's index: that migration fails, after the others ran.
  db.exec("CREATE TABLE runs_namespace_status (x)");
  assert.throws(() => migrate(db, path), /runs_namespace_status/);
  const tables = () =>
    (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (r) => r.name,
    );
  assert.deepEqual(tables(), ["runs_namespace_status", "schema_migrations"], "none of the earlier migrations kept");
  db.exec("DROP TABLE runs_namespace_status");
  migrate(db, path);
  assert.equal(
    (db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number }).v,
    SCHEMA_VERSION,
  );
});

test("postgres: a database written by the first schema is upgraded in place, its runs kept", {
  skip: pgUrl ? false : "no Postgres reachable",
}, async (t) => {
  const schema = `t_migrate_${process.pid}`;
  const c = new pg.Client({ connectionString: pgUrl as string, options: `-c search_path=${schema}` });
  await c.connect();
  t.after(async () => {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await migratePostgres(c, "test", 1);
  await c.query(`INSERT INTO runs VALUES (${RUN.map((_, i) => `$${i + 1}`).join(", ")})`, RUN);
  const store = await openPostgresStore({ url: pgUrl as string, schema });
  t.after(() => store.close());
  assert.equal((await store.getRun("r-old"))?.output, '"out"');
  assert.deepEqual(await store.listSchedules({}), []);
  assert.equal(
    (await store.query<{ v: number }>("SELECT max(version) AS v FROM schema_migrations"))[0]?.v,
    PG_SCHEMA_VERSION,
  );
});
