import { createHash } from "node:crypto";
import { chown, lstat, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { AgentdError } from "../errors.ts";

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Far above the uids people and services get (and above the usual subordinate ranges for containers). */
const UID_BASE = 2_000_000_000;
const UID_SPAN = 1_000_000;

/**
 * The uid code runs as when agentd runs as root: one per tenant and area, so the kernel's per-user
 * process count (RLIMIT_NPROC, threads included) of one tenant's fork bomb does not stop another
 * tenant's sandboxes, nor does a tenant's MCP server (a Node process is a dozen threads) eat into its
 * run_code's; files written in an area are owned by its uid. Two may hash to the same uid (one in a
 * million): they share that count, and still never see each other's files (mounts do that).
 */
export function sandboxUid(tenantId: string, area: string): number {
  return UID_BASE + (createHash("sha256").update(`${tenantId}/${area}`).digest().readUInt32BE(0) % UID_SPAN);
}

/** `<root>/<tenant>/<area>`, made owner-only (and owned by the tenant's uid when `owner` is given). */
export async function workspaceDir(
  root: string,
  tenantId: string,
  area: string,
  owner: number | null,
): Promise<string> {
  if (!NAME.test(tenantId))
    throw new AgentdError("bad_request", `not a tenant id: ${JSON.stringify(tenantId.slice(0, 40))}`);
  if (!NAME.test(area))
    throw new AgentdError(
      "bad_request",
      `a sandbox area is 1 to 64 letters, digits, - or _, not ${JSON.stringify(area.slice(0, 40))}`,
    );
  await mkdir(root, { recursive: true, mode: 0o700 });
  const tenantDir = join(root, tenantId);
  await mkdir(tenantDir, { mode: 0o700 }).catch(exists);
  const dir = join(tenantDir, area);
  await mkdir(dir, { mode: 0o700 }).catch(exists);
  if (owner !== null) await chown(dir, owner, owner);
  return dir;
}

function exists(e: NodeJS.ErrnoException): void {
  if (e.code !== "EEXIST") throw e;
}

/** One file of a workspace as last seen: enough to tell it changed. */
export interface FileState {
  size: number;
  mtimeMs: number;
  ino: number;
}

/**
 * The regular files under `dir` (relative paths), at most `maxFiles` of them, symlinks not followed
 * (a link the code made may point anywhere on this machine), and their total size.
 */
export async function scanWorkspace(
  dir: string,
  maxFiles = 10_000,
): Promise<{ files: Map<string, FileState>; bytes: number; complete: boolean }> {
  const files = new Map<string, FileState>();
  let bytes = 0;
  const queue = [""];
  while (queue.length > 0) {
    const rel = queue.shift() as string;
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(join(dir, rel), { withFileTypes: true });
    } catch {
      continue; // removed meanwhile, or unreadable: not a file we return
    }
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) queue.push(path);
      else if (e.isFile()) {
        if (files.size >= maxFiles) return { files, bytes, complete: false };
        const st = await lstat(join(dir, path)).catch(() => null);
        if (!st?.isFile()) continue;
        files.set(path, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
        bytes += st.size;
      }
    }
  }
  return { files, bytes, complete: true };
}

/** Files new or changed between two scans, in path order. */
export function changedFiles(before: Map<string, FileState>, after: Map<string, FileState>): string[] {
  const out: string[] = [];
  for (const [path, s] of after) {
    const b = before.get(path);
    if (!b || b.size !== s.size || b.mtimeMs !== s.mtimeMs || b.ino !== s.ino) out.push(path);
  }
  return out.sort();
}
