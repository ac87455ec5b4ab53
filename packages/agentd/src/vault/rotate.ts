import { rmSync, writeFileSync } from "node:fs";
import { makeDataDir } from "../config/startup.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import type { Db } from "../db/index.ts";
import {
  ENV_KEY,
  ENV_PREVIOUS,
  type Env,
  generateMasterKey,
  KEY_FILE,
  keyId,
  loadMasterKeys,
  MasterKeyError,
  parseMasterKey,
  toMasterKeys,
  writeKeyFile,
} from "./keys.ts";
import { type RotateProgress, type RotateResult, Vault } from "./vault.ts";

export interface RotateMasterKeyOptions {
  /** Default: process.env. */
  env?: Env;
  /** The new key (base64 or hex of 32 bytes); default: a fresh random key, or, if a rotation was interrupted, its key. */
  newKey?: string;
  /** How long to wait after publishing the new key before re-encrypting, so that puts already under way with the old key land first (default 2 s). */
  graceMs?: number;
  onProgress?: (p: RotateProgress) => void;
}

export interface MasterKeyRotation extends RotateResult {
  /** "rotated": every secret is under the new key and the old keys are retired; "incomplete": some are not (see `message`); "instructions": keys come from the environment and there was nothing to do but explain. */
  outcome: "rotated" | "incomplete" | "instructions";
  /** The id of the key secrets are now under; null for "instructions". */
  keyId: string | null;
  /** What happened and what to do next, for the operator (several lines). */
  message: string;
}

/**
 * The `agentd vault rotate` command. With a key file: writes a new key ahead of the old ones (so
 * running processes read and write with it as soon as they notice the file changed), re-encrypts
 * every secret, then rewrites the file with only the new key. With AGENTD_MASTER_KEY: re-encrypts
 * to the given key, or to the current one when old keys are listed in AGENTD_MASTER_KEY_PREVIOUS;
 * otherwise it explains the steps, since there is no file to edit.
 */
export async function rotateMasterKey(
  dataDir: string,
  db: Db,
  opts: RotateMasterKeyOptions = {},
): Promise<MasterKeyRotation> {
  const env = opts.env ?? process.env;
  return env[ENV_KEY] !== undefined ? rotateEnv(dataDir, db, env, opts) : rotateFile(dataDir, db, env, opts);
}

async function rotateFile(dataDir: string, db: Db, env: Env, opts: RotateMasterKeyOptions): Promise<MasterKeyRotation> {
  const path = join(dataDir, KEY_FILE);
  const lock = `${path}.lock`;
  makeDataDir(dataDir);
  try {
    writeFileSync(lock, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    throw new MasterKeyError(
      `another key rotation holds ${lock}; if none is running (one was interrupted), delete ${lock} and run the rotation again`,
    );
  }
  try {
    const loaded = loadMasterKeys(dataDir, env);
    const old = [...loaded.all.values()].map((k) => k.key);
    const resumed = !opts.newKey && old.length > 1;
    const target = opts.newKey
      ? parseMasterKey(opts.newKey, "the new master key")
      : resumed
        ? loaded.current.key
        : generateMasterKey();
    const id = keyId(target);
    if (id !== loaded.current.id) {
      writeKeyFile(path, [target, ...old]);
      await sleep(opts.graceMs ?? 2000);
    }
    const result = await new Vault(db, loaded).rotate(toMasterKeys([target, ...old], path), opts.onProgress);
    const retired = [...loaded.all.keys()].filter((k) => k !== id);
    const lines = [
      `${resumed ? "resumed the interrupted rotation: " : ""}${result.reencrypted} secret(s) re-encrypted under master key ${id}` +
        (result.skipped ? ` (${result.skipped} rewritten meanwhile, already under it)` : ""),
    ];
    if (result.remaining === 0 && result.failed.length === 0) {
      writeKeyFile(path, [target]);
      lines.push(
        retired.length
          ? `${path} now holds only the new key; old key(s) ${retired.join(", ")} are retired`
          : `${path} holds only key ${id}`,
        `back up ${path} now: without it the vault's secrets are lost`,
      );
      return { ...result, outcome: "rotated", keyId: id, message: lines.join("\n") };
    }
    lines.push(...incomplete(result, `${path} keeps the old key(s) after the new one`));
    return { ...result, outcome: "incomplete", keyId: id, message: lines.join("\n") };
  } finally {
    rmSync(lock, { force: true });
  }
}

async function rotateEnv(dataDir: string, db: Db, env: Env, opts: RotateMasterKeyOptions): Promise<MasterKeyRotation> {
  const loaded = loadMasterKeys(dataDir, env);
  const old = [...loaded.all.values()].map((k) => k.key);
  const target = opts.newKey
    ? parseMasterKey(opts.newKey, "the new master key")
    : loaded.all.size > 1
      ? loaded.current.key
      : null;
  if (!target) {
    const fresh = generateMasterKey().toString("base64");
    const message = [
      `the master key comes from ${ENV_KEY}, so there is no file to rewrite. To rotate it without downtime, with this new key:`,
      `  ${fresh}`,
      `1. on every process, add it to ${ENV_PREVIOUS} (comma-separated) and restart them one at a time: they can now read it;`,
      `2. swap: ${ENV_KEY}=<the new key>, ${ENV_PREVIOUS}=<the old key>, and restart them one at a time: new secrets go under the new key;`,
      `3. run \`agentd vault rotate\` with that environment: it re-encrypts every secret under the new key;`,
      `4. remove ${ENV_PREVIOUS} and restart them one at a time.`,
      `(If agentd can be stopped instead: stop it, run \`agentd vault rotate\` with the new key as argument, and start it with ${ENV_KEY} set to the new key.)`,
    ];
    return {
      total: 0,
      reencrypted: 0,
      skipped: 0,
      failed: [],
      remaining: 0,
      outcome: "instructions",
      keyId: null,
      message: message.join("\n"),
    };
  }
  const id = keyId(target);
  const result = await new Vault(db, loaded).rotate(toMasterKeys([target, ...old], ENV_KEY), opts.onProgress);
  const lines = [
    `${result.reencrypted} secret(s) re-encrypted under master key ${id}` +
      (result.skipped ? ` (${result.skipped} rewritten meanwhile)` : ""),
  ];
  if (result.remaining > 0 || result.failed.length > 0) {
    lines.push(...incomplete(result, `keep the old key(s) in ${ENV_PREVIOUS}`));
    return { ...result, outcome: "incomplete", keyId: id, message: lines.join("\n") };
  }
  if (id === loaded.current.id)
    lines.push(`no secret needs the old key(s) any more: remove ${ENV_PREVIOUS} from every process`);
  else
    lines.push(
      `set ${ENV_KEY} to the key you passed on every process, with the old key in ${ENV_PREVIOUS}, and restart them one at a time;`,
      `then run \`agentd vault rotate\` once more, for secrets written meanwhile under the old key, and remove ${ENV_PREVIOUS}`,
    );
  return { ...result, outcome: "rotated", keyId: id, message: lines.join("\n") };
}

function incomplete(result: RotateResult, keep: string): string[] {
  const lines = [`${result.remaining} secret(s) are still under an old key, so ${keep}:`];
  for (const f of result.failed.slice(0, 10)) lines.push(`  ${f.reason}`);
  if (result.failed.length > 10) lines.push(`  … and ${result.failed.length - 10} more`);
  if (result.remaining > result.failed.length)
    lines.push(
      "  some were written under an old key during the rotation by a process that had not seen the new key yet",
    );
  lines.push("fix those, then run `agentd vault rotate` again to finish");
  return lines;
}
