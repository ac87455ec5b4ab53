import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type ssh2Module from "ssh2";

// Loaded on the first key made or read, not with agentd (a function's cold start does not pay for SSH).
const load = createRequire(import.meta.url);
const ssh2 = {
  get utils() {
    return (load("ssh2") as typeof ssh2Module).utils;
  },
};
import { badRequest } from "../errors.ts";

/** A key pair agentd made (ed25519, OpenSSH format): the private half goes to the vault, the public half is shown. */
export interface KeyPair {
  privateKey: string;
  /** One line for authorized_keys: `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
}

const MAX_KEY_CHARS = 16_000;

/** A fresh ed25519 pair from Node's crypto, in OpenSSH's formats. */
export function generateKeyPair(comment: string): KeyPair {
  const pair = ssh2.utils.generateKeyPairSync("ed25519", { comment });
  return { privateKey: pair.private, publicKey: pair.public.trim() };
}

/**
 * Checks an imported private key (OpenSSH or PEM, optionally encrypted) and returns its public line.
 * The key itself never appears in the error: a wrong passphrase and a malformed key read alike.
 */
export function publicKeyOf(privateKey: string, passphrase?: string): string {
  if (typeof privateKey !== "string" || privateKey.length > MAX_KEY_CHARS)
    throw badRequest(`a private key is text of at most ${MAX_KEY_CHARS} characters`);
  const parsed = ssh2.utils.parseKey(privateKey, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error)
    throw badRequest(
      passphrase
        ? "the private key could not be read with that passphrase (or is not an OpenSSH/PEM private key)"
        : "the private key could not be read: give an unencrypted OpenSSH or PEM private key, or its passphrase",
    );
  if (!key.isPrivateKey()) throw badRequest("that is a public key: give the private key (it stays in the vault)");
  return `${key.type} ${key.getPublicSSH().toString("base64")}`;
}

/** OpenSSH's SHA-256 fingerprint of a host key blob: `SHA256:` + unpadded base64, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named at the start of an SSH public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, …). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const n = blob.readUInt32BE(0);
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString("latin1") : "unknown";
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** A fingerprint as a person pastes it (`SHA256:…`, maybe with padding or spaces around): normalized, or a clear error. */
export function normalizeFingerprint(text: string): string {
  const f = text.trim().replace(/=+$/, "");
  if (!FINGERPRINT.test(f))
    throw badRequest(
      `a host key fingerprint looks like SHA256:<43 base64 characters> (what ssh-keygen -lf prints), got ${JSON.stringify(text.slice(0, 80))}`,
    );
  return f;
}
