import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The CLI entry the tests run as a child process. */
export const MAIN = new URL("../../src/main.js", import.meta.url).pathname;

/** The environment without the machine's own model, store or token settings (CI sets DATABASE_URL). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(AGENTD_|OPENAI_)/.test(k)) delete env[k];
  return { ...env, DATABASE_URL: "", ...extra };
}

export function tempDir(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "agentd-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A port free now, for a child agentd to listen on (and listen on again after a restart). Taken below
 * the kernel's ephemeral range (32768 and up here): a port the OS handed out for `listen(0)` is handed
 * out again to outgoing connections (a Postgres client, a fetch), which then hold it when agentd starts.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; ; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const s = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(port, "127.0.0.1", () => resolve());
      });
      await new Promise((r) => s.close(r));
      return port;
    } catch (e) {
      if (tries > 50) throw e;
    }
  }
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as it arrived, piece by piece. */
  pieces: string[];
}

/** Runs `agentd <args>` with `stdin` piped in, to its end (killed and failed after `timeoutMs`, 30 s by default). */
export async function agentd(args: string[], env: NodeJS.ProcessEnv, stdin = "", timeoutMs = 30_000): Promise<Result> {
  const child = spawn(process.execPath, [MAIN, ...args], { env });
  child.stdin.end(stdin);
  const pieces: string[] = [];
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => pieces.push(d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  assert.notEqual(code, null, `agentd ${args.join(" ")} was killed; stdout: ${pieces.join("")}; stderr: ${stderr}`);
  return { code, stdout: pieces.join(""), stderr, pieces };
}
