import { resolve } from "node:path";
import { AgentdError } from "../errors.ts";
import type { PostgresDb } from "./postgres.ts";
import { MIGRATIONS } from "./schema.ts";
import { SqliteDb } from "./sqlite.ts";
import type { Db } from "./types.ts";

export type { Db, DbStats, Dialect, Row } from "./types.ts";

/** Opens the OS data store beside the kernel's: Postgres when a URL is given, else `os.db` in the data folder. */
export async function openDb(opts: {
  dataDir: string;
  databaseUrl?: string;
  pgSchema?: string;
  where?: string;
}): Promise<Db> {
  // pg is loaded only for Postgres: a SQLite start does not pay for it.
  const db = opts.databaseUrl
    ? new (await import("./postgres.ts")).PostgresDb(opts.databaseUrl, opts.where ?? "postgres", {
        schema: opts.pgSchema,
      })
    : new SqliteDb(resolve(opts.dataDir, "os.db"));
  try {
    if (isPostgres(db) && db.schema !== "public") await db.run(`CREATE SCHEMA IF NOT EXISTS ${db.schema}`);
    await migrate(db);
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
  return db;
}

const isPostgres = (db: Db): db is PostgresDb => db.dialect === "postgres";

/** Applies the migrations this code knows and the database lacks; refuses a database newer than the code. */
export async function migrate(db: Db): Promise<{ from: number; to: number }> {
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  if (isPostgres(db)) {
    return db.tx(async (t) => {
      // One process migrates at a time; the others wait here and then find nothing to do.
      await t.run("SELECT pg_advisory_xact_lock(727274)");
      await t.run("CREATE TABLE IF NOT EXISTS os_schema (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)");
      return apply(t, latest, (sql) => t.run(sql).then(() => {}));
    });
  }
  const s = db as SqliteDb;
  s.exec("CREATE TABLE IF NOT EXISTS os_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  return s.tx((t) => apply(t, latest, async (sql) => s.exec(sql)));
}

async function apply(
  t: Db,
  latest: number,
  exec: (sql: string) => Promise<void>,
): Promise<{ from: number; to: number }> {
  const row = await t.get<{ v: number | null }>("SELECT MAX(version) AS v FROM os_schema");
  const from = Number(row?.v ?? 0);
  if (from > latest)
    throw new AgentdError(
      "os_schema_too_new",
      `the OS data is at schema version ${from}, newer than this agentd (${latest}): upgrade agentd before starting it on this data.`,
    );
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
    await exec(m.sql(t.dialect));
    if (m.after) await m.after(t);
    await t.run("INSERT INTO os_schema (version, applied_at) VALUES (?, ?)", [m.version, Date.now()]);
  }
  return { from, to: latest };
}
