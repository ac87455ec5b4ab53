#!/usr/bin/env node
import { resolve } from "node:path";
import { KernelError } from "@agentd/kernel";
import { runDemo } from "./demo.ts";
import { openStore } from "./store.ts";

const HELP = `agentd: a self-hostable agentic operating system on a durable-execution kernel

Usage: agentd [start] [--data <dir>]

  start           run the kernel demo on the store (the server arrives in a later release)
  --data <dir>    data folder for the embedded SQLite store (default: ./data, or $AGENTD_DATA)
  -h, --help      show this help

Environment:
  DATABASE_URL    postgres://user:password@host:5432/database: use Postgres instead of SQLite
                  (any number of agentd processes can share one database)
`;

const args = process.argv.slice(2);
if (args.includes("-h") || args.includes("--help")) {
  process.stdout.write(HELP);
  process.exit(0);
}
const cmd = args[0] && !args[0].startsWith("-") ? args[0] : "start";
if (cmd !== "start") {
  process.stderr.write(`agentd: unknown command "${cmd}"\n\n${HELP}`);
  process.exit(2);
}
const i = args.indexOf("--data");
const dataDir = resolve(i >= 0 && args[i + 1] ? (args[i + 1] as string) : (process.env.AGENTD_DATA ?? "data"));
try {
  const { store, where } = await openStore(dataDir);
  await runDemo(store, where, (line) => console.log(line));
  await store.close();
} catch (e) {
  // Errors of ours say what happened and what to do: one line, no stack trace.
  if (!KernelError.is(e)) throw e;
  process.stderr.write(`agentd: ${e.message}\n`);
  process.exit(1);
}
