import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { makeDataDir } from "../config/startup.ts";
import { AgentdError } from "../errors.ts";

/** One AES-256 master key and its id (a hash, safe to show and store). */
export interface MasterKey {
  readonly id: string;
  /** Not enumerable, so logging or serialising a MasterKey never prints the key. */
  readonly key: Buffer;
}

/** The keys a process holds: `current` encrypts; every key in `all` (current included) decrypts. */
export interface MasterKeys {
  readonly current: MasterKey;
  readonly all: Map<string, MasterKey>;
  /** Where the keys come from, for messages: a file path or "AGENTD_MASTER_KEY". */
  readonly source: string;
  /** Re-reads the key file when it changed since it was read (a rotation by another process); null when unchanged or not from a file. */
  readonly refresh?: () => MasterKeys | null;
}

/** The master key configuration is missing, malformed or unsafe; agentd must not start. */
export class MasterKeyError extends AgentdError<"master_key"> {
  constructor(message: string) {
    super("master_key", message);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export const KEY_FILE = "master.key";
export const ENV_KEY = "AGENTD_MASTER_KEY";
export const ENV_PREVIOUS = "AGENTD_MASTER_KEY_PREVIOUS";

const GENERATE_HINT = "generate one with `openssl rand -base64 32`";

/** The id under which rows encrypted with this key are stored: the first 12 hex digits of sha256("agentd-key-id" + key). */
export function keyId(key: Buffer): string {
  return createHash("sha256").update("agentd-key-id").update(key).digest("hex").slice(0, 12);
}

export function masterKey(key: Buffer): MasterKey {
  if (key.length !== 32) throw new MasterKeyError(`a master key must be 32 bytes, not ${key.length}; ${GENERATE_HINT}`);
  const k = { id: keyId(key) } as MasterKey;
  Object.defineProperty(k, "key", { value: Buffer.from(key), enumerable: false });
  return k;
}

/** 32 fresh random bytes. */
export function generateMasterKey(): Buffer {
  return randomBytes(32);
}

/** Builds the key set from keys newest first: the first encrypts, all decrypt. Duplicates are dropped. */
export function toMasterKeys(keys: readonly Buffer[], source: string): MasterKeys {
  const all = new Map<string, MasterKey>();
  for (const k of keys) {
    const m = masterKey(k);
    if (!all.has(m.id)) all.set(m.id, m);
  }
  const current = all.values().next().value;
  if (!current) throw new MasterKeyError(`${source} holds no master key`);
  return { current, all, source };
}

/** `primary`'s current key and refresh, plus every key of `older` it lacks (so rows under them stay readable). */
export function mergeKeys(primary: MasterKeys, older: MasterKeys): MasterKeys {
  const all = new Map(primary.all);
  for (const [id, k] of older.all) if (!all.has(id)) all.set(id, k);
  return { current: primary.current, all, source: primary.source, refresh: primary.refresh };
}

/** A key written as base64 (standard or URL alphabet) or hex of exactly 32 bytes; `what` names it in the error. */
export function parseMasterKey(text: string, what: string): Buffer {
  const s = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(s)) {
    const std = s.replace(/-/g, "+").replace(/_/g, "/");
    const b = Buffer.from(std, "base64");
    // Buffer.from ignores stray bits in the last character; refusing them catches typos.
    if (b.length === 32 && b.toString("base64").slice(0, 43) === std.slice(0, 43)) return b;
  }
  throw new MasterKeyError(
    `${what} is not a master key: it must be 32 random bytes written as base64 (44 characters) or hex (64 characters), ` +
      `but it is ${s.length} characters long${s.length === 0 ? " (empty)" : ""}; ${GENERATE_HINT}`,
  );
}

/**
 * The master keys: from AGENTD_MASTER_KEY (plus AGENTD_MASTER_KEY_PREVIOUS, comma-separated, for
 * reading only) when set, else from `<dataDir>/master.key`, created with a random key on first start.
 */
export function loadMasterKeys(dataDir: string, env: Env = process.env): MasterKeys {
  const main = env[ENV_KEY];
  const previous = env[ENV_PREVIOUS];
  if (main !== undefined) {
    const keys = [parseMasterKey(main, ENV_KEY)];
    const extra = (previous ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== "");
    for (const [i, p] of extra.entries()) keys.push(parseMasterKey(p, `${ENV_PREVIOUS} (entry ${i + 1})`));
    return toMasterKeys(keys, ENV_KEY);
  }
  if (previous)
    throw new MasterKeyError(
      `${ENV_PREVIOUS} is set but ${ENV_KEY} is not: set the current key in ${ENV_KEY} as well, or unset ${ENV_PREVIOUS} to use the key file`,
    );
  const path = join(dataDir, KEY_FILE);
  try {
    statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    makeDataDir(dataDir); // not mkdir's recursive mode: it spins forever on paths such as /proc/x
    writeKeyFile(path, [generateMasterKey()], { exclusive: true }); // loses quietly to a process that created it first
  }
  return readKeyFile(path);
}

/** Reads a key file, refusing one that other users can read. */
export function readKeyFile(path: string): MasterKeys {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      throw new MasterKeyError(
        `the master key file ${path} is gone: restore it from your backup; without it the vault's secrets cannot be read`,
      );
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0)
      throw new MasterKeyError(
        `the master key file ${path} can be read by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); ` +
          `run \`chmod 600 ${path}\` and start agentd again`,
      );
    const keys = parseKeyFile(readFileSync(fd, "utf8"), path);
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    const refresh = () => {
      let s: ReturnType<typeof statSync>;
      try {
        s = statSync(path);
      } catch {
        return readKeyFile(path); // says the file is gone
      }
      return `${s.ino}:${s.size}:${s.mtimeMs}` === stamp ? null : readKeyFile(path);
    };
    return { ...keys, refresh };
  } finally {
    closeSync(fd);
  }
}

function parseKeyFile(text: string, path: string): MasterKeys {
  const keys: Buffer[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line !== "" && !line.startsWith("#")) keys.push(parseMasterKey(line, `${path} line ${i + 1}`));
  });
  if (keys.length === 0)
    throw new MasterKeyError(
      `the master key file ${path} holds no key: restore it from your backup, or delete it to start with a new key if the vault holds no secrets yet`,
    );
  return toMasterKeys(keys, path);
}

const HEADER =
  "# agentd master keys (base64, newest first). The first key encrypts; the others only decrypt, during a rotation.\n" +
  "# Keep this file private (mode 0600) and backed up: without it the vault's secrets are lost.\n";

/**
 * Writes the key file atomically with mode 0600: readers see the old file or the new one, never a
 * part. With `exclusive`, it is only created if absent (returns false when another process won).
 */
export function writeKeyFile(path: string, keys: readonly Buffer[], opts: { exclusive?: boolean } = {}): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    if (process.platform !== "win32") fchmodSync(fd, 0o600); // whatever the umask
    writeSync(fd, HEADER + keys.map((k) => `${k.toString("base64")}\n`).join(""));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (opts.exclusive) {
      try {
        linkSync(tmp, path); // fails if the file exists: an atomic create-if-absent
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw e;
      }
    } else renameSync(tmp, path);
    syncDir(dirname(path));
    return true;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic there.
  }
}
