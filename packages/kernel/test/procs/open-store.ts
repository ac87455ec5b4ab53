// The store a test's child process opens: the parent passes the backend's kind and its `where`
// ("<file>" for SQLite, "<url> schema <schema>" for Postgres) on the command line.
import { openSqliteStore } from "../../src/index.ts";
import { openPostgresStore } from "../../src/store/postgres/index.ts";

export function openStoreAt(kind: "sqlite" | "postgres", where: string) {
  if (kind === "sqlite") return openSqliteStore(where);
  const [url, schema] = where.split(" schema ") as [string, string];
  return openPostgresStore({ url, schema });
}
