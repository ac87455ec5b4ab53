import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ADMIN_TOKEN_FILE, ConfigError } from "../config.ts";

// What starting agentd does to its data folder; reading the configuration does none of it.

/**
 * Makes the data folder (owner-only) one level at a time. Node's `mkdir(..., { recursive: true })`
 * spins forever at 100 % CPU, deaf to SIGTERM, on a path it cannot create such as /proc/x; a
 * folder that cannot be made is a ConfigError saying why.
 */
export function makeDataDir(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); ; ) {
    try {
      if (!statSync(d).isDirectory())
        throw new ConfigError(
          `cannot use the data folder ${dir}: ${d} is a file, not a folder; pass another --data (or AGENTD_DATA)`,
        );
      break;
    } catch (e) {
      if (ConfigError.is(e)) throw e;
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw cannotCreate(dir, e);
      missing.push(d);
      if (dirname(d) === d) break;
      d = dirname(d);
    }
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw cannotCreate(dir, e);
    }
  }
}

function cannotCreate(dir: string, e: unknown): ConfigError {
  const code = (e as NodeJS.ErrnoException).code ?? "error";
  const why: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "not permitted",
    EROFS: "the file system is read-only",
    ENOTDIR: "a part of the path is a file",
    ENOENT: "that place does not allow new folders",
  };
  return new ConfigError(
    `cannot create the data folder ${dir} (${code}: ${why[code] ?? (e as Error).message}): pass another --data (or AGENTD_DATA), or create it yourself`,
  );
}

/**
 * The admin token: `token` when the configuration has one, else the one written to the data folder
 * now (mode 0600; another process that wrote it first wins). A token file others can read is
 * narrowed to its owner.
 */
export function ensureAdminToken(dataDir: string, token: string): string {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (token) {
    const mode = statSync(path, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && process.platform !== "win32" && (mode & 0o077) !== 0) chmodSync(path, 0o600);
    return token;
  }
  const made = `adm_${randomBytes(24).toString("base64url")}`;
  try {
    writeFileSync(path, `${made}\n`, { mode: 0o600, flag: "wx" });
    return made;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return readFileSync(path, "utf8").trim();
  }
}
