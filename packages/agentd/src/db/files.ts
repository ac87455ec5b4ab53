import { chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Makes a SQLite database file and its folder readable by their owner only (0600 / 0700), like the
 * blobs and the key file: they hold conversations, journals and pairing codes. A new file is created
 * owner-only before SQLite opens it (its -wal and -shm files then take the same mode); an existing
 * one, and the -wal, -shm and -journal files beside it, are narrowed when opened. Returns `path`.
 */
export function ownerOnlySqlite(path: string): string {
  if (path === ":memory:" || process.platform === "win32") return path;
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  narrowFolder(dir);
  closeSync(openSync(path, "a", 0o600)); // SQLite takes an empty file for a new database
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) narrow(f, 0o600);
  return path;
}

function narrow(path: string, mode: number): void {
  let now: number;
  try {
    now = statSync(path).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if ((now & 0o077) !== 0) chmodSync(path, mode);
}

/** A folder the operator shares on purpose (sticky, like /tmp) or does not own is left alone; the files in it are owner-only anyway. */
function narrowFolder(dir: string): void {
  const st = statSync(dir);
  if ((st.mode & 0o1000) !== 0 || (typeof process.getuid === "function" && st.uid !== process.getuid())) return;
  narrow(dir, 0o700);
}
