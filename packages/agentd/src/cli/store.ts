import { join } from "node:path";
import { type Agentd, createAgentd } from "../app.ts";
import type { Config } from "../config.ts";
import type { CommandInput, Parsed } from "./args.ts";

/** The store for messages: "sqlite <file>" or "postgres host:port/database" (never a password). */
export function describeStore(c: Pick<Config, "databaseUrl" | "dataDir" | "pgSchema">): string {
  if (!c.databaseUrl) return `sqlite ${join(c.dataDir, "agentd.db")}`;
  let where = "postgres";
  try {
    const u = new URL(c.databaseUrl);
    where = `postgres ${u.hostname || "localhost"}:${u.port || 5432}${u.pathname}`;
  } catch {
    // an unparsable URL is reported when the store is opened
  }
  return c.pgSchema ? `${where} (schema ${c.pgSchema})` : where;
}

/** The store opened for an admin command: everything but the worker, so no run executes here. */
export function openAdmin(input: CommandInput, p: Parsed): Promise<Agentd> {
  return createAgentd({ env: input.env, config: p.config, worker: false });
}

/** Runs `fn` on the admin app and closes it, whatever happens. */
export async function withAdmin<T>(input: CommandInput, p: Parsed, fn: (app: Agentd) => Promise<T>): Promise<T> {
  const app = await openAdmin(input, p);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
