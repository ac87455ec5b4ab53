import { KernelError } from "@agentd/kernel";
import { AgentdError, type AgentdErrorCode } from "../errors.ts";

/** A mistake on the command line (unknown command or option, missing argument): exit code 2. */
export class UsageError extends AgentdError<"usage"> {
  constructor(message: string) {
    super("usage", message);
  }
}

/**
 * A failure the CLI itself reports, one line, exit code 1: `cli_unreachable` when no agentd answers,
 * `cli_refused` when the server refused the request (`status` and `serverCode` are its answer's), else
 * `cli_failed` (a missing token, a port in use).
 */
export class CliError extends AgentdError<"cli_failed" | "cli_unreachable" | "cli_refused"> {
  /** The HTTP status and the error code of the server's answer, for `cli_refused`. */
  readonly status: number | null;
  readonly serverCode: string | null;
  constructor(
    message: string,
    options?: ErrorOptions & { code?: "cli_unreachable" | "cli_refused"; status?: number; serverCode?: string | null },
  ) {
    super(options?.code ?? "cli_failed", message, options);
    this.status = options?.status ?? null;
    this.serverCode = options?.serverCode ?? null;
  }
}

/**
 * The exit codes scripts can rely on (`agentd help` lists them): 0 done, 1 failed (one line on
 * stderr says why), 2 a usage mistake (help follows), 3 what was named does not exist, 4 no agentd
 * answers at the URL (chat).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, unreachable: 4 } as const;

/** The exit code of an error of ours (ownMessage is not null for it). */
export function exitCodeOf(e: unknown): number {
  if (CliError.is(e, "cli_unreachable")) return EXIT.unreachable;
  if (AgentdError.is(e, "not_found") || (CliError.is(e, "cli_refused") && e.serverCode === "not_found"))
    return EXIT.notFound;
  return EXIT.failed;
}

/** Codes of errors that are a bug of agentd's, not a condition a person can act on: they keep their stack trace. */
const BUGS: ReadonlySet<AgentdErrorCode> = new Set(["unscoped_query"]);

/**
 * The one-line message of an error of ours (the kernel's, agentd's), or null for anything else (and
 * for agentd's bugs): a bug deserves its stack trace. Recognised by `is()` and codes, never by words.
 */
export function ownMessage(e: unknown): string | null {
  if (KernelError.is(e) || (AgentdError.is(e) && !BUGS.has(e.code))) return oneLine(e.message);
  return null;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}
