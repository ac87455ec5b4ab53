import type ssh2 from "ssh2";
import { AgentdError } from "../errors.ts";

export interface ExecOptions {
  timeoutMs: number;
  /** Bytes kept of stdout and of stderr each; the rest is read and dropped, and the result says so. */
  maxBytes: number;
  signal?: AbortSignal;
  /** Output as it arrives (for the run's stream); called with each chunk's text. */
  onOutput?: (stream: "stdout" | "stderr", text: string) => void;
}

export interface ExecResult {
  /** The exit status, or null when the command ended by a signal or was stopped. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr passed maxBytes. */
  truncated: boolean;
  timedOut: boolean;
  ms: number;
}

/** A bounded buffer of one output stream: the first `max` bytes, and a count of the rest. */
class Capped {
  readonly #max: number;
  readonly #parts: Buffer[] = [];
  #kept = 0;
  dropped = 0;
  constructor(max: number) {
    this.#max = max;
  }
  push(b: Buffer): void {
    const room = this.#max - this.#kept;
    if (room > 0) {
      const part = b.length > room ? b.subarray(0, room) : b;
      this.#parts.push(part);
      this.#kept += part.length;
    }
    this.dropped += Math.max(0, b.length - Math.max(0, room));
  }
  text(): string {
    return Buffer.concat(this.#parts).toString("utf8");
  }
}

/**
 * Runs one command on an open connection: its exit status, stdout and stderr (each capped), bounded
 * by a timeout after which the command is sent SIGKILL and its channel closed (a second later the
 * answer comes whatever the host does). Never throws for what
 * the command does (a non-zero status is a result); throws when the channel cannot be opened.
 */
export function execCommand(client: ssh2.Client, command: string, o: ExecOptions): Promise<ExecResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(new AgentdError("ssh_failed", `could not start the command: ${err.message}`));
      const out = new Capped(o.maxBytes);
      const errs = new Capped(o.maxBytes);
      let exitCode: number | null = null;
      let signal: string | null = null;
      let timedOut = false;
      let done = false;
      let grace: NodeJS.Timeout | null = null;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (grace) clearTimeout(grace);
        o.signal?.removeEventListener("abort", onAbort);
        resolve({
          exitCode,
          signal,
          stdout: out.text(),
          stderr: errs.text(),
          truncated: out.dropped > 0 || errs.dropped > 0,
          timedOut,
          ms: Date.now() - started,
        });
      };
      const stop = (why: "timeout" | "abort") => {
        timedOut = why === "timeout";
        try {
          channel.signal("KILL");
        } catch {}
        channel.close();
        // A child the command left behind keeps the channel open: the answer does not wait for it
        // (the caller ends the connection).
        grace = setTimeout(finish, 1000);
      };
      const timer = setTimeout(() => stop("timeout"), o.timeoutMs);
      const onAbort = () => stop("abort");
      o.signal?.addEventListener("abort", onAbort, { once: true });
      channel.on("data", (b: Buffer) => {
        out.push(b);
        o.onOutput?.("stdout", b.toString("utf8"));
      });
      channel.stderr.on("data", (b: Buffer) => {
        errs.push(b);
        o.onOutput?.("stderr", b.toString("utf8"));
      });
      channel.on("exit", (code: number | null, sig?: string) => {
        exitCode = typeof code === "number" ? code : null;
        signal = sig ?? null;
      });
      channel.on("close", finish);
    });
  });
}
