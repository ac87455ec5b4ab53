import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
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
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  return ed25519KeyPair(Buffer.from(jwk.d as string, "base64url"), Buffer.from(jwk.x as string, "base64url"), comment);
}

/** An SSH wire string: its length (uint32, big-endian), then its bytes. */
function sshString(b: Buffer | string): Buffer {
  const bytes = typeof b === "string" ? Buffer.from(b) : b;
  const n = Buffer.alloc(4);
  n.writeUInt32BE(bytes.length);
  return Buffer.concat([n, bytes]);
}

/**
 * An ed25519 key (its 32-byte seed and 32-byte public key) in OpenSSH's formats: the unencrypted
 * `openssh-key-v1` private key (PROTOCOL.key) and the `authorized_keys` line. Written here, not by
 * ssh2's generateKeyPairSync: ssh2 1.17 strips a public key's leading zero bytes, so one key in 256
 * it made was malformed (ssh2 could not read it back, and its public line was not the key).
 */
export function ed25519KeyPair(seed: Buffer, publicKey: Buffer, comment: string): KeyPair {
  if (seed.length !== 32 || publicKey.length !== 32)
    throw new TypeError("an ed25519 seed and public key are 32 bytes each");
  const type = "ssh-ed25519";
  const blob = Buffer.concat([sshString(type), sshString(publicKey)]);
  const check = randomBytes(4);
  const keys = Buffer.concat([
    check,
    check,
    sshString(type),
    sshString(publicKey),
    sshString(Buffer.concat([seed, publicKey])),
    sshString(comment),
  ]);
  // Padded to the cipher's block size (8 for "none") with the bytes 1, 2, 3, …
  const padding = Buffer.from(Array.from({ length: (8 - (keys.length % 8)) % 8 }, (_, i) => i + 1));
  const nkeys = Buffer.alloc(4);
  nkeys.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    nkeys,
    sshString(blob),
    sshString(Buffer.concat([keys, padding])),
  ]);
  const lines = body.toString("base64").replace(/.{1,70}/g, "$&\n");
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines}-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `${type} ${blob.toString("base64")} ${comment}`,
  };
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
