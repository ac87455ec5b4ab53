import type { Db } from "../db/index.ts";
import { AgentdError, badRequest } from "../errors.ts";
import { serializeTenant } from "../tenancy/lock.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { SecretReader } from "./reader.ts";
import { decryptSecret, encryptSecret, type Sealed, VaultError } from "./crypto.ts";
import { mergeKeys, type MasterKeys } from "./keys.ts";

/** What `list` shows of a secret: never its value. */
export interface SecretInfo {
  name: string;
  updatedAt: number;
}

export interface RotateProgress {
  /** Rows handled so far (re-encrypted, skipped or failed). */
  done: number;
  /** Rows that were not under the current key when the rotation started. */
  total: number;
}

export interface RotateResult {
  /** Rows not under the current key when the rotation started. */
  total: number;
  reencrypted: number;
  /** Rows rewritten concurrently (by a put) between read and update; the rewrite stands. */
  skipped: number;
  /** Rows that could not be decrypted, so they stay under their old key. */
  failed: { tenantId: string; name: string; reason: string }[];
  /** Rows still not under the current key at the end (the failed ones, or ones written meanwhile under an old key). */
  remaining: number;
}

interface SecretRow {
  tenant_id: string;
  name: string;
  key_id: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Names agentd keeps for itself (a tenant's channel bot token, its webhook secret): no tool reads
 * them and the secrets API neither writes nor deletes them, so a model cannot use or replace them.
 */
export const RESERVED_PREFIX = "sys.";

export function isReservedSecret(name: string): boolean {
  return typeof name === "string" && name.toLowerCase().startsWith(RESERVED_PREFIX);
}

/** The error a tool or API caller gets for a reserved name. */
export function reservedSecretError(name: string): AgentdError {
  return new AgentdError(
    "secret_reserved",
    `secret ${JSON.stringify(name.slice(0, 80))} is reserved for agentd's own use (names starting with "${RESERVED_PREFIX}", such as a channel bot's token): tools cannot read it and it is managed through its own API (e.g. /v1/channels/telegram)`,
  );
}
/**
 * Connections' tokens (connections/store.ts's `sys.oauth.<name>.*`, an MCP server's `sys.mcpoauth.*`):
 * not counted against the tenant's secrets, so a full vault does not stop an app being connected.
 * They are bounded by what makes them: one pair per app connected, one per MCP server.
 */
export function isConnectionToken(name: string): boolean {
  return name.startsWith("sys.oauth.") || name.startsWith("sys.mcpoauth.");
}
const MAX_VALUE_BYTES = 64 * 1024;
/** Every value is redacted from everything the tenant sees: how many, and how much in all, is bounded. */
export const MAX_SECRETS = 1000;
export const MAX_TOTAL_BYTES = 1024 * 1024;
const BATCH = 100;
const MAX_PASSES = 10;

const sealed = (r: SecretRow): Sealed => ({ keyId: r.key_id, iv: r.iv, tag: r.tag, ciphertext: r.ciphertext });

/**
 * Tenants' credentials, encrypted at rest with per-tenant keys derived from the master keys. Values
 * leave only through `get`, `reader` (tools, at call time) and `values` (redaction).
 */
export class Vault {
  readonly #db: Db;
  readonly #now: () => number;
  #keys: MasterKeys;

  constructor(db: Db, keys: MasterKeys, now: () => number = Date.now) {
    this.#db = db;
    this.#keys = keys;
    this.#now = now;
  }

  /** The keys in use: `current` encrypts new values. */
  get keys(): MasterKeys {
    return this.#keys;
  }

  /** Stores or replaces a secret. Names: 1-64 of `A-Z a-z 0-9 _ . -`; values: a string of at most 64 KB. */
  async put(scope: TenantScope, name: string, value: string): Promise<void> {
    await this.putMany(scope, { [name]: value });
  }

  /**
   * Stores or replaces several secrets in one transaction, with `also` (statements of the caller's
   * own) in the same one: a rotated token pair and the row that says when it expires change together
   * or not at all. `also` may throw to roll everything back.
   */
  async putMany(
    scope: TenantScope,
    entries: Record<string, string>,
    also?: (tx: TenantScope) => Promise<void>,
  ): Promise<void> {
    const names = Object.keys(entries);
    for (const name of names) checkValue(name, entries[name] as string);
    this.#refresh(); // a rotation by another process may have made a new key current
    const sealedOf = names.map((name) => ({
      name,
      s: encryptSecret(this.#keys.current, scope.tenantId, name, entries[name] as string),
    }));
    const now = this.#now();
    await scope.tx(async (tx) => {
      await serializeTenant(tx);
      const counted = names.filter((n) => !isConnectionToken(n));
      const others = await tx.get<{ n: number; size: number | null }>(
        `SELECT COUNT(*) AS n, SUM(LENGTH(ciphertext)) AS size FROM os_secrets WHERE tenant_id = $tenant
         AND name NOT LIKE 'sys.oauth.%' AND name NOT LIKE 'sys.mcpoauth.%' AND name NOT IN (${names.map(() => "?").join(", ")})`,
        names,
      );
      const named = names.join(", ");
      if (counted.length > 0 && Number(others?.n) + counted.length > MAX_SECRETS)
        throw badRequest(
          `this tenant's vault holds ${MAX_SECRETS} secrets, the most it may; delete one it no longer needs before adding ${named}`,
        );
      // Stored as base64: 3 bytes of value for 4 characters.
      const used = Math.floor((Number(others?.size ?? 0) * 3) / 4);
      const bytes = counted.reduce((n, k) => n + Buffer.byteLength(entries[k] as string, "utf8"), 0);
      if (counted.length > 0 && used + bytes > MAX_TOTAL_BYTES)
        throw badRequest(
          `this tenant's secrets would take ${used + bytes} bytes, over the limit of ${MAX_TOTAL_BYTES} (1 MB) for all of them; delete some first`,
        );
      for (const { name, s } of sealedOf)
        await tx.run(
          `INSERT INTO os_secrets (tenant_id, name, key_id, iv, tag, ciphertext, created_at, updated_at) VALUES ($tenant, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, name) DO UPDATE SET key_id = excluded.key_id, iv = excluded.iv, tag = excluded.tag,
         ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
          [name, s.keyId, s.iv, s.tag, s.ciphertext, now, now],
        );
      await also?.(tx);
    });
  }

  /** The plaintext, or null when the tenant has no such secret. Throws VaultError if the row cannot be decrypted. */
  async get(scope: TenantScope, name: string): Promise<string | null> {
    const r = await scope.get<SecretRow>(
      "SELECT tenant_id, name, key_id, iv, tag, ciphertext FROM os_secrets WHERE tenant_id = $tenant AND name = ?",
      [name],
    );
    return r ? this.#open(r) : null;
  }

  /** Names and update times, sorted by name; values are never listed. */
  async list(scope: TenantScope): Promise<SecretInfo[]> {
    const rows = await scope.all<{ name: string; updated_at: number }>(
      "SELECT name, updated_at FROM os_secrets WHERE tenant_id = $tenant",
    );
    return rows
      .map((r) => ({ name: r.name, updatedAt: Number(r.updated_at) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Deletes a secret; a not_found AgentdError when the tenant has none by that name. */
  async delete(scope: TenantScope, name: string): Promise<void> {
    const { changes } = await scope.run("DELETE FROM os_secrets WHERE tenant_id = $tenant AND name = ?", [name]);
    if (changes === 0)
      throw new AgentdError(
        "not_found",
        `secret ${JSON.stringify(name)} not found in this tenant's vault; list the names it holds to check the spelling`,
      );
  }

  /** What a tool receives: reads at call time, bound to one tenant; reserved names are refused. */
  reader(scope: TenantScope): SecretReader {
    return {
      get: async (name) => {
        if (isReservedSecret(name)) throw reservedSecretError(name);
        return this.get(scope, name);
      },
    };
  }

  /** Every plaintext value of the tenant, to redact them from model context, journals and logs. Undecryptable rows are left out (no one can leak them). */
  async values(scope: TenantScope): Promise<string[]> {
    const rows = await scope.all<SecretRow>(
      "SELECT tenant_id, name, key_id, iv, tag, ciphertext FROM os_secrets WHERE tenant_id = $tenant",
    );
    const out: string[] = [];
    for (const r of rows) {
      try {
        out.push(this.#open(r));
      } catch (e) {
        if (!VaultError.is(e)) throw e;
      }
    }
    return out;
  }

  /**
   * Makes `newKeys.current` the encrypting key and re-encrypts every row under another key, in
   * batches of 100, one transaction each. Each update is a compare-and-set on the row's key id and
   * IV, so a concurrent put is never overwritten. Reads keep working throughout (this vault keeps
   * its old keys for decryption); interrupting is safe, and running it again finishes the job.
   */
  async rotate(newKeys: MasterKeys, onProgress?: (p: RotateProgress) => void): Promise<RotateResult> {
    this.#keys = mergeKeys(newKeys, this.#keys);
    const target = this.#keys.current;
    const count = async () =>
      Number(
        (await this.#db.get<{ n: number }>("SELECT COUNT(*) AS n FROM os_secrets WHERE key_id <> ?", [target.id]))?.n ??
          0,
      );
    const total = await count();
    let reencrypted = 0;
    let skipped = 0;
    const failed = new Map<string, RotateResult["failed"][number]>();
    // Another pass only if the last one changed something: rows written meanwhile under an old key
    // by a process that has not seen the new key yet. Rows that fail to decrypt never end a pass early.
    for (let pass = 0, moved = 1; pass < MAX_PASSES && moved > 0; pass++) {
      moved = 0;
      let after: [string, string] = ["", ""];
      for (;;) {
        const rows = await this.#db.tx(async (t) => {
          const batch = await t.all<SecretRow>(
            `SELECT tenant_id, name, key_id, iv, tag, ciphertext FROM os_secrets
             WHERE key_id <> ? AND (tenant_id > ? OR (tenant_id = ? AND name > ?)) ORDER BY tenant_id, name LIMIT ${BATCH}`,
            [target.id, after[0], after[0], after[1]],
          );
          for (const r of batch) {
            let value: string;
            try {
              value = decryptSecret(this.#keys, r.tenant_id, r.name, sealed(r));
            } catch (e) {
              if (!VaultError.is(e)) throw e;
              failed.set(JSON.stringify([r.tenant_id, r.name]), {
                tenantId: r.tenant_id,
                name: r.name,
                reason: e.message,
              });
              continue;
            }
            const s = encryptSecret(target, r.tenant_id, r.name, value);
            const { changes } = await t.run(
              "UPDATE os_secrets SET key_id = ?, iv = ?, tag = ?, ciphertext = ? WHERE tenant_id = ? AND name = ? AND key_id = ? AND iv = ?",
              [s.keyId, s.iv, s.tag, s.ciphertext, r.tenant_id, r.name, r.key_id, r.iv],
            );
            if (changes > 0) reencrypted++;
            else skipped++;
            moved++;
          }
          return batch;
        });
        const last = rows.at(-1);
        if (!last) break;
        after = [last.tenant_id, last.name];
        onProgress?.({ done: reencrypted + skipped + failed.size, total });
        if (rows.length < BATCH) break;
      }
    }
    return { total, reencrypted, skipped, failed: [...failed.values()], remaining: await count() };
  }

  #open(r: SecretRow): string {
    if (!this.#keys.all.has(r.key_id)) this.#refresh();
    return decryptSecret(this.#keys, r.tenant_id, r.name, sealed(r));
  }

  #refresh(): void {
    const fresh = this.#keys.refresh?.();
    if (fresh) this.#keys = mergeKeys(fresh, this.#keys);
  }
}

function checkValue(name: string, value: string): void {
  checkName(name);
  if (typeof value !== "string") throw badRequest(`the value of secret ${JSON.stringify(name)} must be a string`);
  if (value === "")
    throw badRequest(`the value of secret ${JSON.stringify(name)} is empty: give a value, or delete the secret`);
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_VALUE_BYTES)
    throw badRequest(
      `the value of secret ${JSON.stringify(name)} is ${bytes} bytes, over the limit of ${MAX_VALUE_BYTES} (64 KB)`,
    );
}

function checkName(name: string): void {
  if (typeof name !== "string" || !NAME.test(name))
    throw badRequest(
      `secret name ${JSON.stringify(String(name).slice(0, 80))} is invalid: use 1 to 64 letters, digits, '_', '.' or '-'`,
    );
}
