import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Agentd } from "../../src/app.ts";
import type { TenantScope } from "../../src/tenancy/scope.ts";
import type { ToolContext } from "../../src/tools/types.ts";

/** What a turn gives a tool, for a call a test makes directly. */
export const ctxOf = (app: Agentd, scope: TenantScope, runId: string): ToolContext => ({
  tenant: scope,
  sessionId: null,
  runId,
  callId: "c1",
  now: Date.now(),
  timezone: "UTC",
  signal: new AbortController().signal,
  secrets: app.vault.reader(scope),
  redact: (s) => s,
  services: app.deps.services,
});

/**
 * Everything a test's agentd keeps, as text to search: every SQLite file of its data folder (WAL
 * included) read raw, or on Postgres every row of every table in its schemas.
 */
export async function everything(app: Agentd, backend: string): Promise<string[]> {
  if (backend === "sqlite") {
    const dir = app.config.dataDir;
    return readdirSync(dir)
      .filter((f) => /\.db(-wal)?$/.test(f))
      .map((f) => readFileSync(join(dir, f)).toString("latin1"));
  }
  const tables = await app.db.all<{ s: string; t: string }>(
    "SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'",
  );
  const out: string[] = [];
  for (const { s, t } of tables) {
    const rows = await app.db.all(`SELECT * FROM "${s}"."${t}"`).catch(() => []);
    out.push(JSON.stringify(rows));
  }
  return out;
}
