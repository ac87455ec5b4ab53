import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeSandbox } from "../../src/sandbox/probe.ts";
import { runSandboxed } from "../../src/sandbox/run.ts";
import { createSandbox } from "../../src/sandbox/runner.ts";
import type { Sandbox, SandboxLimits, SpawnSpec } from "../../src/sandbox/types.ts";

export const BWRAP = "/usr/bin/bwrap";
const probe = await probeSandbox(BWRAP, { allowPrivate: false, allowHosts: [] });
/** Why the sandbox tests skip (bubblewrap missing or not allowed here), or undefined: they run. */
export const skip: string | undefined = probe.ok ? undefined : `no working sandbox here: ${probe.text}`;
if (skip) console.log(`# sandbox tests skipped: ${skip}`);

/** A sandbox over a fresh root folder, removed after the test. */
export function sandboxFor(
  t: { after(fn: () => unknown): void },
  o: { allowHosts?: string[]; limits?: SandboxLimits } = {},
): { sandbox: Sandbox; root: string } {
  const root = mkdtempSync(join(tmpdir(), "agentd-sandbox-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const sandbox = createSandbox({
    mode: "bwrap",
    bwrap: BWRAP,
    root,
    net: { allowPrivate: false, allowHosts: o.allowHosts ?? [] },
    ...(o.limits ? { limits: o.limits } : {}),
  });
  return { sandbox, root };
}

/** Runs a shell script in tenant `tenantId`'s "code" area. */
export const sh = (sandbox: Sandbox, script: string, more: Partial<SpawnSpec> = {}) =>
  runSandboxed(sandbox, { tenantId: "ten_a", area: "code", command: ["sh", "-c", script], ...more });

/** Pids of live processes owned by `uid` (zombies excluded), read from /proc. */
export function processesOf(uid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const u = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      const state = /^State:\s+(\w)/m.exec(status)?.[1];
      if (Number(u) === uid && state !== "Z") out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
