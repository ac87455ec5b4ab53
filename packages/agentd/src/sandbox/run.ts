import type { Readable } from "node:stream";
import type { Sandbox, SandboxExit, SpawnSpec } from "./types.ts";

export interface RunOutput {
  stdout: string;
  stderr: string;
  /** True when a stream said more than the cap (the rest was read and dropped). */
  truncated: boolean;
  exit: SandboxExit;
  durationMs: number;
  /** From spawn to the first byte on stdout or stderr (null: it said nothing). */
  firstOutputMs: number | null;
}

/**
 * Runs a command to its end in the sandbox: `input` on its stdin, at most `maxOutputBytes` of each
 * of stdout and stderr kept (the rest drained, so a chatty program never blocks on a full pipe and
 * is ended by its limits, not by us), `signal` kills it.
 */
export async function runSandboxed(
  sandbox: Sandbox,
  spec: SpawnSpec,
  opts: { input?: string; maxOutputBytes?: number; signal?: AbortSignal } = {},
): Promise<RunOutput> {
  const max = opts.maxOutputBytes ?? 64 * 1024;
  const started = performance.now();
  const p = await sandbox.spawn(spec);
  let first: number | null = null;
  const mark = () => {
    if (first === null) first = performance.now() - started;
  };
  const onAbort = () => p.kill();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) p.kill();
  p.stdin.end(opts.input ?? "");
  const [out, err, exit] = await Promise.all([capped(p.stdout, max, mark), capped(p.stderr, max, mark), p.exited]);
  opts.signal?.removeEventListener("abort", onAbort);
  return {
    stdout: out.text,
    stderr: err.text,
    truncated: out.truncated || err.truncated,
    exit,
    durationMs: performance.now() - started,
    firstOutputMs: first,
  };
}

async function capped(
  stream: Readable,
  max: number,
  onData: () => void,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    onData();
    if (size >= max) {
      truncated = true;
      continue;
    }
    const part = chunk.subarray(0, max - size);
    if (part.length < chunk.length) truncated = true;
    chunks.push(part);
    size += part.length;
  }
  // A cut may split a UTF-8 sequence: the decoder shows it as one replacement character.
  return { text: Buffer.concat(chunks).toString("utf8"), truncated };
}
