// The CLI run in this process (main(), stdout and stderr captured), on a backend's fresh place:
// each command opens the store as `agentd` would, without a child process per command.
import { main } from "../../src/cli/index.ts";
import type { Backend } from "../support/backends.ts";
import { cleanEnv } from "../support/cli.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a backend's fresh place: its data folder, and on Postgres its database and schema. */
export function placeEnv(t: { after(fn: () => unknown): void }, b: Backend): NodeJS.ProcessEnv {
  return envOf(b.place(t));
}

/** The environment that points `agentd` at a place (a served agentd's, to work on its store beside it). */
export function envOf(place: ReturnType<Backend["place"]>): NodeJS.ProcessEnv {
  return cleanEnv({
    AGENTD_DATA: place.dataDir,
    ...(place.databaseUrl ? { DATABASE_URL: place.databaseUrl } : {}),
    ...(place.pgSchema ? { AGENTD_PG_SCHEMA: place.pgSchema } : {}),
  });
}

/** Runs `agentd <argv>` in this process; what it wrote is captured (not shown). */
export async function cli(env: NodeJS.ProcessEnv, ...argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const write = { out: process.stdout.write, err: process.stderr.write };
  // Only text is captured: the test runner reports to its parent through this same stdout, in bytes.
  process.stdout.write = ((s: string | Uint8Array, ...rest: never[]) => {
    if (typeof s !== "string") return write.out.call(process.stdout, s, ...rest);
    stdout += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv, env);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}
