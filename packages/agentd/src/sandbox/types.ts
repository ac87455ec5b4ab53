import type { Readable, Writable } from "node:stream";
import type { Refusal } from "../net/proxy.ts";

/**
 * Resource limits of one sandboxed process tree. Each is an rlimit set by `prlimit` on the command
 * (so per process: memory and CPU bound each process, `processes` bounds how many there are),
 * except `wallMs`, which agentd enforces by killing the whole tree.
 */
export interface SandboxLimits {
  /** CPU seconds per process (RLIMIT_CPU); the kernel sends SIGXCPU then SIGKILL. */
  cpuSeconds: number;
  /** Address space per process in bytes (RLIMIT_AS): an allocation beyond it fails inside. Node needs about 1.1 GB to start. */
  memoryBytes: number;
  /** Processes and threads (RLIMIT_NPROC): a fork bomb stops here. */
  processes: number;
  /** Largest file a process may write (RLIMIT_FSIZE): a write beyond it fails with EFBIG. */
  fileBytes: number;
  /** Open files per process (RLIMIT_NOFILE). */
  openFiles: number;
  /** Size of the private /tmp (a tmpfs, held in memory). */
  tmpBytes: number;
  /** Wall clock from spawn; the whole tree is killed at it. 0: none (a long-lived server). */
  wallMs: number;
}

/** What to run, for whom, and with what. */
export interface SpawnSpec {
  tenantId: string;
  /**
   * The tenant's workspace this process gets read-write at /workspace: `<area>` under the tenant's
   * folder (letters, digits, `-`, `_`), e.g. "code" for run_code, "mcp-<server>" for an MCP server.
   * Persisted between calls; no other tenant's (and no other area's) files are in the sandbox.
   */
  area: string;
  /** argv inside the sandbox; the first word is looked up on its PATH (/opt/agentd/bin:/usr/bin:/bin). */
  command: readonly string[];
  /** Variables the process sees besides PATH, HOME, TMPDIR, LANG (nothing of agentd's own environment passes). */
  env?: Readonly<Record<string, string>>;
  /** Relative to /workspace. */
  cwd?: string;
  /**
   * Outgoing HTTP(S) through agentd's SSRF-guarded proxy (HTTP_PROXY is set inside). The sandbox
   * never has a network interface of its own either way.
   */
  egress?: boolean;
  limits?: Partial<SandboxLimits>;
  /** Extra read-only files inside (e.g. the script to run): inside path → bytes. */
  files?: Readonly<Record<string, string | Uint8Array>>;
}

/** How a sandboxed process ended. */
export interface SandboxExit {
  /** The exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** "timeout": agentd killed it at the wall clock; "killed": kill() was called. */
  reason: "exit" | "timeout" | "killed";
  /** Requests the egress proxy refused (a private address, a metadata service). */
  refused: Refusal[];
}

/** A running sandboxed process: pipes to talk to it (a stdio MCP server), its end. */
export interface SandboxProcess {
  readonly pid: number;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves once the process tree is gone and the egress proxy closed. Never rejects. */
  readonly exited: Promise<SandboxExit>;
  /** Kills the whole tree (idempotent). */
  kill(): void;
}

/**
 * How this machine isolates code: `bwrap` (bubblewrap, namespaces; as root it drops to a per-tenant
 * uid inside), or `none` when the operator allowed running code unsandboxed (AGENTD_UNSANDBOXED_CODE=1).
 */
export type SandboxMode = "bwrap" | "none";

/** The port other code spawns through (run_code, stdio MCP servers). */
export interface Sandbox {
  readonly mode: SandboxMode;
  /** The workspace folder of (tenant, area) on this machine; created on first use. */
  workspace(tenantId: string, area: string): Promise<string>;
  spawn(spec: SpawnSpec): Promise<SandboxProcess>;
}
