import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import type { Place } from "./backends.ts";

/** Every byte a place stores, as text: the SQLite files (WAL included) or every row of the Postgres schema. */
export async function storedText(place: Place): Promise<string> {
  if (!place.databaseUrl) {
    // Every file of the data folder, the SQLite WAL files included, as raw bytes.
    return readdirSync(place.dataDir)
      .filter((f) => existsSync(join(place.dataDir, f)))
      .map((f) => readFileSync(join(place.dataDir, f)).toString("latin1"))
      .join("\n");
  }
  const c = new pg.Client({ connectionString: place.databaseUrl });
  await c.connect();
  try {
    let all = "";
    for (const schema of [place.pgSchema as string]) {
      const tables = await c.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", [
        schema,
      ]);
      for (const { table_name } of tables.rows)
        all += (await c.query(`SELECT t::text AS row FROM ${schema}.${table_name} t`)).rows
          .map((r) => r.row)
          .join("\n");
    }
    return all;
  } finally {
    await c.end();
  }
}
