import assert from "node:assert/strict";
import { test } from "node:test";
import { KernelError, SchemaTooNewError } from "../src/index.ts";
import { openPostgresStore } from "../src/store/postgres/index.ts";
import { pgUrl, postgres } from "./backends.ts";

const skip = pgUrl
  ? false
  : "no Postgres reachable (set DATABASE_URL, or run ../shared/ci/postgres.sh start): the Postgres half of the conformance suite did not run";

test("postgres: the conformance suite runs against a real Postgres", { skip }, async (t) => {
  const { store } = await postgres.temp(t);
  assert.equal(store.kind, "postgres");
});

test("postgres: an unreachable DATABASE_URL gives one clear line naming host, port and cause", async () => {
  await assert.rejects(openPostgresStore("postgres://nobody@127.0.0.1:1/none"), (e: Error) => {
    assert.ok(KernelError.is(e) && e.code === "store_unreachable");
    assert.equal(e.message.split("\n").length, 1);
    assert.match(
      e.message,
      /cannot use Postgres at 127\.0\.0\.1:1 \(database none\): connection refused .* Check DATABASE_URL/,
    );
    return true;
  });
  await assert.rejects(openPostgresStore("mysql://x@y/z"), /DATABASE_URL must look like postgres:\/\//);
  await assert.rejects(
    openPostgresStore("postgres://u:secret@127.0.0.1:1/db"),
    (e: Error) => !e.message.includes("secret"),
  );
});

test("postgres: a wrong user or database is named in the error", { skip }, async () => {
  const u = new URL(pgUrl as string);
  u.pathname = "/no_such_database_here";
  await assert.rejects(openPostgresStore(u.toString()), /database "no_such_database_here" does not exist/);
});

test("postgres: a database whose schema is newer than the code is refused, with both versions, and left unchanged", {
  skip,
}, async (t) => {
  const { store } = await postgres.temp(t);
  const pgs = store as Awaited<ReturnType<typeof openPostgresStore>>;
  await pgs.query("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)");
  const schema = (await pgs.query<{ s: string }>("SELECT current_schema() AS s"))[0]?.s as string;
  await assert.rejects(
    openPostgresStore({ url: pgUrl as string, schema }),
    (e: Error) =>
      SchemaTooNewError.is(e) &&
      /schema version 999, but this agentd knows versions up to \d+\. Upgrade agentd/.test(e.message),
  );
  assert.equal((await pgs.query("SELECT 1 FROM runs LIMIT 1")).length, 0, "tables still there");
});
