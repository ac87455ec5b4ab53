import { openSqliteStore } from "@agentd/kernel";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { makeDataDir } from "../config/startup.ts";
import { ownerOnlySqlite } from "../db/files.ts";
import { openDb } from "../db/index.ts";
import { type CommandInput, parseCommand } from "./args.ts";
import { probeStore } from "./probe.ts";
import { describeStore } from "./store.ts";

/** `agentd migrate`: brings the kernel's store and the OS data to this agentd's schema, reporting each step. */
export async function migrate(input: CommandInput): Promise<number> {
  const p = parseCommand(input);
  const config = loadConfig(input.env, p.config);
  if (!config.databaseUrl) makeDataDir(config.dataDir);
  const where = describeStore(config);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`migrating ${where}`);
  const before = await probeStore(config).catch(() => null); // unreachable: opening below says why
  // On a terminal each step shows "applying…" while it runs, replaced by its result.
  const tty = process.stdout.isTTY;
  const progress = (what: string) => tty && process.stdout.write(`  ${what.padEnd(13)} applying…`);
  const step = (what: string, from: number | undefined, to: number) =>
    out(
      `${tty ? "\r\x1b[K" : ""}  ${what.padEnd(13)} ${from === to ? `schema v${to}, already current` : `schema v${from ?? "?"} -> v${to} (${from === undefined ? "" : `${to - from} `}migration(s) applied)`}`,
    );

  progress("kernel store");
  const store = config.databaseUrl
    ? await (await import("@agentd/kernel/postgres")).openPostgresStore({
        url: config.databaseUrl,
        ...(config.pgSchema ? { schema: config.pgSchema } : {}),
      })
    : await openSqliteStore(ownerOnlySqlite(join(config.dataDir, "agentd.db")));
  await store.close();
  const mid = await probeStore(config);
  step("kernel store", before?.kernelVersion, mid.kernelVersion);

  progress("OS data");
  const db = await openDb({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    pgSchema: config.pgSchema,
    where,
  });
  await db.close();
  const after = await probeStore(config);
  step("OS data", before?.osVersion, after.osVersion);
  out("done: the database is at this agentd's schema");
  return 0;
}
