/** One structured log line: what happened, to which run and step. Values (inputs, results) are never logged. */
export interface LogRecord {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  runId?: string;
  workflow?: string;
  seq?: number;
  step?: string;
  attempt?: number;
  error?: string;
  [field: string]: unknown;
}

export type Logger = (record: LogRecord) => void;

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/** A logger that writes one JSON object a line (default: warnings and errors to stderr). */
export function jsonLogger(
  write: (line: string) => void = (l) => process.stderr.write(l),
  minLevel: LogRecord["level"] = "warn",
): Logger {
  return (r) => {
    if (LEVELS[r.level] >= LEVELS[minLevel]) write(`${JSON.stringify({ time: new Date().toISOString(), ...r })}\n`);
  };
}

/** What stands in for the message of an error thrown by a step marked secret. */
export const REDACTED = "[redacted: secret step]";
