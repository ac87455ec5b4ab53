import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { AgentdError } from "../errors.ts";
import { ENV_KEY, ENV_PREVIOUS, type MasterKey, type MasterKeys } from "./keys.ts";

/** A secret as stored: base64 text, and the id of the master key its tenant key was derived from. */
export interface Sealed {
  keyId: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

/** A stored secret cannot be decrypted; the message says why and what to do, and never holds a value. */
export class VaultError extends AgentdError<"master_key_missing" | "secret_undecryptable"> {}

const INFO = "agentd vault v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The tenant's data key: HKDF-SHA256 of the master key, salted with the tenant id, so no two tenants share a key. */
export function tenantKey(master: MasterKey, tenantId: string): Buffer {
  return Buffer.from(hkdfSync("sha256", master.key, tenantId, INFO, 32));
}

/** Binds a ciphertext to its row: moved to another tenant or name, it fails authentication instead of decrypting. */
function aad(tenantId: string, name: string): Buffer {
  return Buffer.from(JSON.stringify([INFO, tenantId, name]));
}

export function encryptSecret(master: MasterKey, tenantId: string, name: string, value: string): Sealed {
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv("aes-256-gcm", tenantKey(master, tenantId), iv, { authTagLength: TAG_BYTES });
  c.setAAD(aad(tenantId, name));
  const ciphertext = Buffer.concat([c.update(value, "utf8"), c.final()]);
  return {
    keyId: master.id,
    iv: iv.toString("base64"),
    tag: c.getAuthTag().toString("base64"),
    ciphertext: ciphertext.toString("base64"),
  };
}

/** The plaintext, or a VaultError: a missing master key, or a row that was altered or moved. */
export function decryptSecret(keys: MasterKeys, tenantId: string, name: string, sealed: Sealed): string {
  const master = keys.all.get(sealed.keyId);
  if (!master) {
    const where = keys.source === ENV_KEY ? ENV_PREVIOUS : keys.source;
    throw new VaultError(
      "master_key_missing",
      `secret ${JSON.stringify(name)} of tenant ${tenantId} is encrypted under master key ${sealed.keyId}, which this process does not hold ` +
        `(it holds ${[...keys.all.keys()].join(", ")}): add that key to ${where}, after the current one, and restart`,
    );
  }
  const iv = Buffer.from(sealed.iv, "base64");
  const tag = Buffer.from(sealed.tag, "base64");
  try {
    // A short tag would weaken authentication, so its length is checked rather than trusted.
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error("bad lengths");
    const d = createDecipheriv("aes-256-gcm", tenantKey(master, tenantId), iv, { authTagLength: TAG_BYTES });
    d.setAAD(aad(tenantId, name));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(Buffer.from(sealed.ciphertext, "base64")), d.final()]).toString("utf8");
  } catch {
    throw new VaultError(
      "secret_undecryptable",
      `secret ${JSON.stringify(name)} of tenant ${tenantId} fails its integrity check under master key ${master.id}: ` +
        "the stored row was altered, or copied from another tenant or name; store the value again to replace it, or delete it",
    );
  }
}
