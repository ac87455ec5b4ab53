import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";

/** A command to run for a stdio MCP server: its whole environment is given (nothing inherited). */
export interface SpawnSpec {
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Whose server this is, and its name: the sandbox gives each (tenant, server) a workspace of its own. */
  tenantId: string;
  server: string;
}

/** A running server: its pipes, and a kill that ends it and everything it started. */
export interface SpawnedProcess {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the process has exited (with its code or signal). */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** Kills the whole process tree (SIGTERM, then SIGKILL after `graceMs`) and resolves once the process is gone. */
  kill(graceMs?: number): Promise<void>;
}

/**
 * The port stdio MCP servers are started through: `sandboxSpawner` (bubblewrap, egress through the
 * guarded proxy) in a deployment; `hostSpawner` runs the command as a child of agentd, in its own
 * process group so that the whole tree is killed with it (tests, and programs that choose it).
 */
export interface Spawner {
  spawn(spec: SpawnSpec): Promise<SpawnedProcess>;
}

/** Runs the command on this machine, unsandboxed, in its own process group (its environment is still only what the spec gives). */
export const hostSpawner: Spawner = {
  async spawn(spec) {
    const child = spawn(spec.command, [...spec.args], {
      env: { ...spec.env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      windowsHide: true,
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    const group = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group is gone already
      }
    };
    return {
      pid: child.pid,
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      exited,
      async kill(graceMs = 2_000) {
        group("SIGTERM");
        if (!gone) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
          clearTimeout(timer);
        }
        // Children the server started may outlive it in its group: SIGKILL the group whatever happened.
        group("SIGKILL");
        await exited;
      },
    };
  },
};
