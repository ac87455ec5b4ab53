import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The CLI entry the tests run as a child process. */
export const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

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

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}
