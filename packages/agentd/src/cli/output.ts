import type { ParseArgsOptionsConfig } from "node:util";
import type { Parsed } from "./args.ts";

/** `--json`: a listing printed as JSON (the API's own answer, times in epoch milliseconds) for scripts. */
export const JSON_OPTION: ParseArgsOptionsConfig = { json: { type: "boolean" } };

/** Prints `value` as JSON when --json was given (and returns true); else prints nothing (and returns false). */
export function printedJson(p: Parsed, value: unknown): boolean {
  if (!p.values.json) return false;
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  return true;
}

/**
 * Progress of a long operation on stderr, so stdout stays what a script reads: on a terminal one
 * line counting up, in a log a line per tenth.
 */
export function progress(label: string): { step(done: number, total: number): void; end(): void } {
  const tty = Boolean(process.stderr.isTTY);
  let shown = -1;
  let wrote = false;
  return {
    step(done, total) {
      if (total === 0) return;
      if (tty) {
        process.stderr.write(`\r  ${label}: ${done} / ${total}`);
        wrote = true;
        return;
      }
      const tenth = Math.floor((10 * done) / total);
      if (tenth > shown) {
        shown = tenth;
        process.stderr.write(`  ${label}: ${done} / ${total}\n`);
      }
    },
    end() {
      if (wrote) process.stderr.write("\n");
      wrote = false;
    },
  };
}
