import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config.ts";

/** What a database holds, read without changing anything: schema versions (0: none yet) and secrets stored. */
export interface StoreState {
  kernelVersion: number;
  osVersion: number;
  secrets: number;
}

/**
 * Reads the schema versions of the kernel's store and the OS data, and how many secrets the vault
 * holds, without creating or migrating anything. Throws if the database cannot be reached.
 */
export async function probeStore(c: Pick<Config, "dataDir" | "databaseUrl" | "pgSchema">): Promise<StoreState> {
  return c.databaseUrl ? probePostgres(c.databaseUrl, c.pgSchema ?? "public") : probeSqlite(c.dataDir);
}

async function probeSqlite(dataDir: string): Promise<StoreState> {
  const { DatabaseSync } = await import("node:sqlite");
  const read = <T>(file: string, fn: (q: (sql: string) => unknown) => T, empty: T): T => {
    const path = join(dataDir, file);
    if (!existsSync(path)) return empty;
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return fn((sql) => db.prepare(sql).get());
    } finally {
      db.close();
    }
  };
  const tableHas = (q: (sql: string) => unknown, table: string) =>
    Boolean(q(`SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = '${table}'`));
  const version = (q: (sql: string) => unknown, table: string) =>
    tableHas(q, table) ? Number((q(`SELECT max(version) AS v FROM ${table}`) as { v: number | null }).v ?? 0) : 0;
  const kernelVersion = read("agentd.db", (q) => version(q, "schema_migrations"), 0);
  const os = read(
    "os.db",
    (q) => ({
      osVersion: version(q, "os_schema"),
      secrets: tableHas(q, "os_secrets") ? Number((q("SELECT count(*) AS n FROM os_secrets") as { n: number }).n) : 0,
    }),
    { osVersion: 0, secrets: 0 },
  );
  return { kernelVersion, ...os };
}

async function probePostgres(url: string, schema: string): Promise<StoreState> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5000,
    options: `-c search_path=${schema}`,
  });
  client.on("error", () => {});
  await client.connect();
  try {
    const has = async (table: string) =>
      (
        await client.query("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2", [
          schema,
          table,
        ])
      ).rowCount! > 0;
    const one = async (sql: string) => Number(Object.values((await client.query(sql)).rows[0] ?? {})[0] ?? 0);
    return {
      kernelVersion: (await has("schema_migrations")) ? await one("SELECT max(version) FROM schema_migrations") : 0,
      osVersion: (await has("os_schema")) ? await one("SELECT max(version) FROM os_schema") : 0,
      secrets: (await has("os_secrets")) ? await one("SELECT count(*) FROM os_secrets") : 0,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/** A failed connection to Postgres in words: host, port and cause (never the password). */
export function pgCause(url: string, e: unknown): string {
  let where = "the database";
  let user = "";
  let database = "";
  try {
    const u = new URL(url);
    where = `${u.hostname || "localhost"}:${u.port || 5432}`;
    user = decodeURIComponent(u.username);
    database = decodeURIComponent(u.pathname.slice(1));
  } catch {
    return "DATABASE_URL is not a URL: it must look like postgres://user:password@host:5432/database";
  }
  const code = (e as { code?: string }).code;
  const causes: Record<string, string> = {
    ECONNREFUSED: "connection refused (no server listening there)",
    ENOTFOUND: "the host name does not resolve",
    EAI_AGAIN: "the host name does not resolve",
    ETIMEDOUT: "connection timed out",
    "28P01": `password authentication failed for user "${user}"`,
    "28000": `the server refused user "${user}"`,
    "3D000": `database "${database}" does not exist`,
  };
  const msg = (e as Error).message ?? String(e);
  return `cannot use Postgres at ${where}: ${(code && causes[code]) || (/timeout/i.test(msg) ? "connection timed out" : msg)}`;
}
