#!/usr/bin/env node
import { resolve } from "node:path";
import { runDemo } from "./demo.ts";

const HELP = `agentd: a self-hostable agentic operating system on a durable-execution kernel

Usage: agentd [start] [--data <dir>]

  start           run the kernel demo on the embedded SQLite store (the server arrives in a later release)
  --data <dir>    data folder (default: ./data, or $AGENTD_DATA)
  -h, --help      show this help
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
const dataDir = resolve(i >= 0 && args[i + 1] ? args[i + 1] as string : (process.env.AGENTD_DATA ?? "data"));
await runDemo(dataDir, (line) => console.log(line));
