import type { SandboxLimits } from "./types.ts";

const MB = 1024 * 1024;

/** What run_code gets unless the operator says otherwise (AGENTD_SANDBOX_MEMORY_MB, AGENTD_SANDBOX_TIMEOUT). */
export const DEFAULT_LIMITS: SandboxLimits = {
  cpuSeconds: 30,
  // Node reserves about 1.1 GB of address space before it runs a line; 2 GB leaves it a heap.
  memoryBytes: 2048 * MB,
  processes: 64,
  fileBytes: 64 * MB,
  openFiles: 256,
  tmpBytes: 64 * MB,
  wallMs: 30_000,
};

/** The limits with `over` applied, each checked to be a positive whole number (wallMs may be 0: none). */
export function limitsOf(over: Partial<SandboxLimits> = {}, base: SandboxLimits = DEFAULT_LIMITS): SandboxLimits {
  const out = { ...base, ...over };
  for (const [k, v] of Object.entries(out))
    if (!Number.isSafeInteger(v) || v < (k === "wallMs" ? 0 : 1))
      throw new TypeError(`sandbox limit ${k} must be a positive whole number, not ${String(v)}`);
  return out;
}

/**
 * `prlimit` arguments that set the limits on the command (soft = hard, so the code cannot raise
 * them back). Core dumps are off: a crash must not write a file the size of the process.
 */
export function prlimitArgs(l: SandboxLimits): string[] {
  return [
    `--cpu=${l.cpuSeconds}`,
    `--as=${l.memoryBytes}`,
    `--nproc=${l.processes}`,
    `--fsize=${l.fileBytes}`,
    `--nofile=${l.openFiles}`,
    "--core=0",
    "--",
  ];
}
