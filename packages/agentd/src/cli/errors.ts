import { KernelError } from "@agentd/kernel";
import { ConfigError } from "../config.ts";
import { OsError } from "../tenancy/errors.ts";
import { MasterKeyError } from "../vault/keys.ts";

/** A mistake on the command line (unknown command or option, missing argument): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure the CLI itself reports (a server that refused, a missing token): one line, exit code 1. */
export class CliError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliError";
  }
}

/**
 * The one-line message of an error of ours (the kernel's, the OS layer's, a bad master key, the
 * CLI's), or null for anything else: a bug, which deserves its stack trace.
 */
export function ownMessage(e: unknown): string | null {
  if (KernelError.is(e) || OsError.is(e) || e instanceof MasterKeyError || e instanceof ConfigError || e instanceof CliError || e instanceof UsageError) return oneLine(e.message);
  // The OS data store refuses a database written by a newer agentd with a plain Error that says what to do.
  if (e instanceof Error && /^the OS data is at schema version/.test(e.message)) return oneLine(e.message);
  return null;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}
