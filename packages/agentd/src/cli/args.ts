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

/** A UsageError when more positional arguments than `n` were given to `command` (e.g. "tenants rename"). */
export function noMoreThan(p: Parsed, n: number, command: string): void {
  const group = command.split(" ")[0];
  if (p.positionals.length > n)
    throw new UsageError(
      `agentd ${command}: unexpected argument "${p.positionals[n]}"; see \`agentd ${group} --help\``,
    );
}

/** The tenant a command acts for (--tenant), or a UsageError saying how to find one. */
export function requiredTenant(p: Parsed, command: string): string {
  const tenant = p.values.tenant as string | undefined;
  if (!tenant) throw new UsageError(`agentd ${command} needs --tenant <id> (list tenants with \`agentd tenants\`)`);
  return tenant;
}

/** A required positional argument that must be one of `choices` (a decision, a mode), or a UsageError listing them. */
export function oneOf<T extends string>(
  p: Parsed,
  index: number,
  choices: readonly T[],
  what: string,
  command: string,
): T {
  const list = `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
  const v = required(p, index, `${what}: ${list}`, `agentd ${command}`);
  if (!(choices as readonly string[]).includes(v))
    throw new UsageError(`agentd ${command}: "${v}" is not ${what}; use ${list}`);
  return v as T;
}

/** A whole-number option (--limit, --after, --days): `fallback` when absent, a UsageError when not a whole number ≥ `min`. */
export function wholeNumber(p: Parsed, option: string, fallback: number, command: string, min = 0): number {
  const given = p.values[option];
  if (given === undefined) return fallback;
  const n = Number(given);
  if (typeof given !== "string" || !/^\d{1,9}$/.test(given) || n < min)
    throw new UsageError(`agentd ${command}: --${option} must be a whole number${min > 0 ? ` from ${min}` : ""}`);
  return n;
}
