import { resolve } from "node:path";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { Config } from "../config.ts";
import { UsageError } from "./errors.ts";

/** What every command receives: its arguments after the command name, and the process's environment. */
export interface CommandInput {
  command: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Overrides for loadConfig / createAgentd from the common options: the data folder. */
  config: Partial<Config>;
  /** The data folder, absolute: --data, else $AGENTD_DATA, else ./data. */
  dataDir: string;
}

const COMMON: ParseArgsOptionsConfig = {
  data: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Parses a command's arguments with the common options added; a mistake is a UsageError naming the command. */
export function parseCommand(input: CommandInput, options: ParseArgsOptionsConfig = {}, maxPositionals = 0): Parsed {
  let out: { values: Record<string, unknown>; positionals: string[] };
  try {
    out = parseArgs({ args: input.argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    // parseArgs explains well ("Unknown option '--x'"); drop its advice to use "--" which does not apply here.
    const why = (e as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, "");
    throw new UsageError(`agentd ${input.command}: ${why}; see \`agentd ${input.command} --help\``);
  }
  if (out.positionals.length > maxPositionals && !out.values.help)
    throw new UsageError(
      `agentd ${input.command}: unexpected argument "${out.positionals[maxPositionals]}"; see \`agentd ${input.command} --help\``,
    );
  const data = out.values.data as string | undefined;
  if (data === "") throw new UsageError(`agentd ${input.command}: --data needs a folder`);
  const dataDir = resolve(data ?? input.env.AGENTD_DATA ?? "data");
  return { values: out.values as Parsed["values"], positionals: out.positionals, config: { dataDir }, dataDir };
}

/** A required positional argument, or a UsageError saying which. */
export function required(p: Parsed, index: number, what: string, usage: string): string {
  const v = p.positionals[index];
  if (!v) throw new UsageError(`${usage} needs ${what}; see its --help`);
  return v;
}
