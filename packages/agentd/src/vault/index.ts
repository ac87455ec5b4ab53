// Commonly used: the vault, its keys, redaction.

/** Tenants' secrets, encrypted at rest; `reader(scope)` is what tools get. */
export { Vault, type RotateProgress, type RotateResult, type SecretInfo } from "./vault.ts";
/** What tools read a tenant's vault through, at call time. */
export type { SecretReader } from "./reader.ts";
/** Master keys from AGENTD_MASTER_KEY or `<dataDir>/master.key` (created 0600 on first start). */
export { loadMasterKeys, MasterKeyError, type MasterKey, type MasterKeys } from "./keys.ts";
/** Replaces secret values (plain, URL-encoded, base64, JSON-escaped) by `[secret]` in text and JSON values. */
export { createRedactor, redactSecrets, redactSecretsDeep, REDACTED, type Redactor } from "./redact.ts";
/** A stored secret that cannot be decrypted (missing master key, or an altered or moved row): HTTP 500 with advice. */
export { VaultError } from "./crypto.ts";

// Advanced: the rotation command, and building key sets by hand (tests, operators' tooling).

/** `agentd vault rotate`: new key, re-encrypt everything, retire the old keys. */
export { rotateMasterKey, type MasterKeyRotation, type RotateMasterKeyOptions } from "./rotate.ts";
/** Keys from bytes (newest first), parsing, generation, and the key file's atomic writer. */
export { generateMasterKey, keyId, parseMasterKey, toMasterKeys, writeKeyFile, KEY_FILE, type Env } from "./keys.ts";
