import { readFileSync } from "node:fs";
import type { CommandInput } from "./args.ts";
import { EXIT, exitCodeOf, ownMessage, UsageError } from "./errors.ts";

type Command = (input: CommandInput) => Promise<number>;

/** The --help texts (some 20 modules), loaded when one is printed: a command that runs does not need them. */
const help = () => import("./help.ts");

/** Each command's module is loaded only when it runs, so `--help` and small commands start fast. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await import("./start.ts")).start,
  serve: async () => (await import("./start.ts")).serve,
  worker: async () => (await import("./start.ts")).worker,
  chat: async () => (await import("./chat.ts")).chat,
  doctor: async () => (await import("./doctor.ts")).doctor,
  tenants: async () => (await import("./tenants.ts")).tenants,
  bots: async () => (await import("./bots.ts")).bots,
  mcp: async () => (await import("./mcp.ts")).mcp,
  connections: async () => (await import("./connections.ts")).connections,
  composio: async () => (await import("./composio.ts")).composio,
  runs: async () => (await import("./runs.ts")).runs,
  sessions: async () => (await import("./sessions.ts")).sessionsCommand,
  blobs: async () => (await import("./blobs.ts")).blobs,
  usage: async () => (await import("./usage.ts")).usage,
  workers: async () => (await import("./workers.ts")).workers,
  schedules: async () => (await import("./schedules.ts")).schedules,
  memory: async () => (await import("./memory.ts")).memory,
  secrets: async () => (await import("./secrets.ts")).secrets,
  policies: async () => (await import("./policies.ts")).policies,
  approvals: async () => (await import("./approvals.ts")).approvals,
  webhooks: async () => (await import("./webhooks.ts")).webhooks,
  web: async () => (await import("./web.ts")).web,
  migrate: async () => (await import("./migrate.ts")).migrate,
  vault: async () => (await import("./vault.ts")).vault,
  ssh: async () => (await import("./ssh.ts")).ssh,
  relay: async () => (await import("./relay.ts")).relay,
};

/**
 * Runs the `agentd` command line; resolves to the exit code (EXIT, cli/errors.ts). Errors of ours
 * are one line on stderr and exit 1 (3 when what was named does not exist, 4 when no agentd
 * answers); a usage mistake prints help on stderr and exits 2; anything else is a bug and shows its stack.
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const first = argv[0];
  if (first === "-v" || first === "--version") {
    process.stdout.write(`agentd ${version()}\n`);
    return 0;
  }
  if (first === "help") {
    const topic = argv[1] ?? "agentd";
    const { HELP, helpOf } = await help();
    if (!HELP[topic]) return usage(new UsageError(`agentd help: unknown command "${topic}"`), "agentd");
    process.stdout.write(helpOf(topic));
    return 0;
  }
  const explicit = first !== undefined && !first.startsWith("-");
  const command = explicit ? first : "start";
  const rest = explicit ? argv.slice(1) : argv;
  if (!explicit && (rest.includes("-h") || rest.includes("--help"))) {
    process.stdout.write((await help()).helpOf("agentd"));
    return 0;
  }
  const load = COMMANDS[command];
  if (!load) return usage(new UsageError(`agentd: unknown command "${command}"`), "agentd");
  if (rest.includes("-h") || rest.includes("--help")) {
    process.stdout.write((await help()).helpOf(command));
    return 0;
  }
  try {
    return await (await load())({ command, argv: rest, env });
  } catch (e) {
    if (UsageError.is(e)) return usage(e, command);
    const own = ownMessage(e);
    if (own === null) throw e;
    process.stderr.write(`agentd: ${own.replace(/^agentd:\s*/, "")}\n`);
    return exitCodeOf(e);
  }
}

async function usage(e: UsageError, command: string): Promise<number> {
  const { helpOf } = await help();
  process.stderr.write(`${e.message}\n\n${helpOf(command)}`);
  return EXIT.usage;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}
