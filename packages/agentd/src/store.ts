import { resolve } from "node:path";
import { openSqliteStore, type Store } from "@agentd/kernel";
import { openPostgresStore } from "@agentd/kernel/postgres";

/** The store agentd runs on: Postgres when DATABASE_URL is set (many processes, many machines), else SQLite in the data folder. */
export async function openStore(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<{ store: Store; where: string }> {
  if (env.DATABASE_URL) {
    const store = await openPostgresStore(env.DATABASE_URL);
    return { store, where: `postgres ${store.where}` };
  }
  const path = resolve(dataDir, "agentd.db");
  return { store: await openSqliteStore(path), where: path };
}
