import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db/index.ts";
import { newId, randomCode } from "../ids.ts";
import { badRequest, notFound } from "../errors.ts";
import type { PostgresDb } from "../db/postgres.ts";
import { KeyCache, keysChannel, tenantNotice } from "./key-cache.ts";
import { TenantScope } from "./scope.ts";
import { isTimeZone } from "../config/variables.ts";
import { TenantSettings } from "./settings.ts";

export interface Tenant {
  id: string;
  name: string;
  settings: TenantSettings;
  createdAt: number;
}

export interface TenantRow {
  id: string;
  name: string;
  settings: string;
  created_at: number;
}

const PAIRING_TTL_MS = 24 * 3600_000;
/** How an API key is stored and looked up: its SHA-256, hex (the key itself is never kept). */
export const hashKey = (key: string) => createHash("sha256").update(key).digest("hex");

/** The operator's view of tenants: create them, issue API keys and pairing codes, bind identities. */
export class Tenants {
  readonly #db: Db;
  readonly #now: () => number;
  readonly #toolNames: (() => readonly string[]) | null;
  readonly #timezone: string;
  readonly #keys: KeyCache | null;

  /**
   * `toolNames`: the tools that exist, which a tenant's `tools` setting may name; `timezone`: new tenants' zone when they name none;
   * `cacheKeys`: keep API keys' tenants in this process on Postgres (key-cache.ts; `close` stops listening).
   */
  constructor(
    db: Db,
    now: () => number = Date.now,
    opts: { toolNames?: () => readonly string[]; timezone?: string; cacheKeys?: boolean } = {},
  ) {
    this.#db = db;
    this.#now = now;
    this.#toolNames = opts.toolNames ?? null;
    this.#timezone = opts.timezone ?? "UTC";
    this.#keys = opts.cacheKeys && db.dialect === "postgres" ? new KeyCache(db as PostgresDb) : null;
  }

  /** Whether this process keeps API keys it has seen (Postgres, once it listens for revocations). */
  async keysKept(): Promise<boolean> {
    return (await this.#keys?.listening()) ?? false;
  }

  /** Stops listening for revocations (the key cache's connection). */
  async close(): Promise<void> {
    await this.#keys?.close();
  }

  /** What zod cannot know: the zone must exist in this Node, the tools in this agentd. */
  #check(s: TenantSettings): TenantSettings {
    if (!isTimeZone(s.timezone))
      throw badRequest(
        `invalid settings: timezone ${JSON.stringify(s.timezone)} is not a time zone: use an IANA name such as Europe/Paris, America/New_York or UTC`,
      );
    const known = this.#toolNames?.();
    const unknown = known && s.tools ? s.tools.filter((t) => !known.includes(t)) : [];
    if (unknown.length > 0)
      throw badRequest(
        `invalid settings: tools names ${unknown.length === 1 ? "a tool that does not exist" : "tools that do not exist"}: ${unknown.join(", ")}; the tools are ${known!.join(", ")} (or null for all)`,
      );
    // A tenant's own tools come and go with its servers; a built-in's name must exist, or the typo denies nothing.
    const typo = known ? s.deniedTools.filter((t) => !t.includes("*") && !t.includes("__") && !known.includes(t)) : [];
    if (typo.length > 0)
      throw badRequest(
        `invalid settings: deniedTools names ${typo.length === 1 ? "a tool that does not exist" : "tools that do not exist"}: ${typo.join(", ")}; the built-in tools are ${known!.join(", ")}, a tenant's own are named like mcp__server__tool (a * matches any run of characters)`,
      );
    return s;
  }

  /** The handle through which all of one tenant's data is reached. */
  scope(tenantId: string): TenantScope {
    return new TenantScope(this.#db, tenantId);
  }

  async create(name: string, settings: unknown = {}): Promise<Tenant> {
    const given =
      typeof settings === "object" && settings !== null && !Array.isArray(settings) && !("timezone" in settings)
        ? { ...settings, timezone: this.#timezone }
        : settings;
    const parsed = TenantSettings.safeParse(given);
    if (!parsed.success)
      throw badRequest(
        `invalid settings: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      );
    const t: Tenant = { id: newId("ten"), name, settings: this.#check(parsed.data), createdAt: this.#now() };
    await this.#db.run("INSERT INTO os_tenants (id, name, settings, created_at) VALUES (?, ?, ?, ?)", [
      t.id,
      name,
      JSON.stringify(t.settings),
      t.createdAt,
    ]);
    return t;
  }

  async get(id: string): Promise<Tenant | null> {
    const r = await this.#db.get<TenantRow>("SELECT * FROM os_tenants WHERE id = ?", [id]);
    return r ? toTenant(r) : null;
  }

  async require(id: string): Promise<Tenant> {
    const t = await this.get(id);
    if (!t) throw notFound(`tenant ${id}`);
    return t;
  }

  async list(limit = 100, after = ""): Promise<Tenant[]> {
    const rows = await this.#db.all<TenantRow>("SELECT * FROM os_tenants WHERE id > ? ORDER BY id LIMIT ?", [
      after,
      limit,
    ]);
    return rows.map(toTenant);
  }

  async update(id: string, patch: { name?: string; settings?: unknown }): Promise<Tenant> {
    const t = await this.require(id);
    const patchObj = patch.settings ?? {};
    if (typeof patchObj !== "object" || patchObj === null || Array.isArray(patchObj))
      throw badRequest("settings must be an object");
    const p = TenantSettings.strict().safeParse({ ...t.settings, ...patchObj });
    if (!p.success)
      throw badRequest(
        `invalid settings: ${p.error.issues.map((i) => `${i.path.join(".") || "(settings)"}: ${i.message}`).join("; ")}`,
      );
    const settings = this.#check(p.data);
    const name = patch.name ?? t.name;
    await this.#db.run("UPDATE os_tenants SET name = ?, settings = ? WHERE id = ?", [
      name,
      JSON.stringify(settings),
      id,
    ]);
    return { ...t, name, settings };
  }

  async delete(id: string): Promise<void> {
    const channel = keysChannel(this.#db);
    if (!channel) {
      const r = await this.#db.run("DELETE FROM os_tenants WHERE id = ?", [id]);
      if (r.changes === 0) throw notFound(`tenant ${id}`);
      return;
    }
    // Postgres: every process forgets the tenant's keys (deleted with it) when this commits; this one at once.
    const rows = await this.#db.all(
      "WITH d AS (DELETE FROM os_tenants WHERE id = ? RETURNING id) SELECT pg_notify(?, ?) FROM d",
      [id, channel, tenantNotice(id)],
    );
    this.#keys?.notice(tenantNotice(id));
    if (rows.length === 0) throw notFound(`tenant ${id}`);
  }

  /** A new API key for the tenant; only its hash is stored, so this is the one time it is seen. */
  async createApiKey(tenantId: string): Promise<{ id: string; key: string }> {
    await this.require(tenantId);
    const key = `ak_${randomBytes(24).toString("base64url")}`;
    const id = newId("key");
    await this.#db.run("INSERT INTO os_api_keys (id, tenant_id, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)", [
      id,
      tenantId,
      hashKey(key),
      key.slice(0, 7),
      this.#now(),
    ]);
    return { id, key };
  }

  /** The tenant's API keys as the operator sees them: the first characters only, never a key. */
  async apiKeys(
    tenantId: string,
  ): Promise<{ id: string; prefix: string; createdAt: number; revokedAt: number | null }[]> {
    const rows = await this.#db.all<{ id: string; prefix: string; created_at: number; revoked_at: number | null }>(
      "SELECT id, prefix, created_at, revoked_at FROM os_api_keys WHERE tenant_id = ? ORDER BY created_at",
      [tenantId],
    );
    return rows.map((r) => ({
      id: r.id,
      prefix: r.prefix,
      createdAt: Number(r.created_at),
      revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    }));
  }

  /** Revokes a key; on Postgres the same statement tells every process to forget it (key-cache.ts) when it commits. */
  async revokeApiKey(tenantId: string, keyId: string): Promise<void> {
    const revoke = "UPDATE os_api_keys SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL";
    const channel = keysChannel(this.#db);
    if (!channel) {
      const r = await this.#db.run(revoke, [this.#now(), keyId, tenantId]);
      if (r.changes === 0) throw notFound(`API key ${keyId}`);
      return;
    }
    const rows = await this.#db.all<{ hash: string }>(
      `WITH k AS (${revoke} RETURNING hash) SELECT hash, pg_notify(?, hash) FROM k`,
      [this.#now(), keyId, tenantId, channel],
    );
    for (const r of rows) this.#keys?.notice(r.hash);
    if (rows.length === 0) throw notFound(`API key ${keyId}`);
  }

  /** The tenant an API key belongs to, or null for an unknown or revoked key. */
  async tenantOfKey(key: string): Promise<string | null> {
    if (!key.startsWith("ak_")) return null;
    // Looked up by its SHA-256: the key itself is never stored or compared.
    const hash = hashKey(key);
    const read = async () =>
      (
        await this.#db.get<{ tenant_id: string }>(
          "SELECT tenant_id FROM os_api_keys WHERE hash = ? AND revoked_at IS NULL",
          [hash],
        )
      )?.tenant_id ?? null;
    return this.#keys ? this.#keys.tenantOf(hash, read) : read();
  }

  /** A one-time code a person sends from a channel (e.g. `/start CODE` on Telegram) to bind that identity to the tenant. */
  async createPairingCode(tenantId: string, ttlMs = PAIRING_TTL_MS): Promise<{ code: string; expiresAt: number }> {
    await this.require(tenantId);
    const code = randomCode(8).toUpperCase();
    const expiresAt = this.#now() + ttlMs;
    await this.#db.run("INSERT INTO os_pairing_codes (code, tenant_id, expires_at) VALUES (?, ?, ?)", [
      code,
      tenantId,
      expiresAt,
    ]);
    return { code, expiresAt };
  }

  /** Binds (channel, externalId) to the code's tenant; null when the code is unknown, used or expired. */
  async redeemPairingCode(code: string, channel: string, externalId: string, display?: string): Promise<string | null> {
    const now = this.#now();
    return this.#db.tx(async (db) => {
      const used = await db.run(
        "UPDATE os_pairing_codes SET used_at = ?, used_by = ? WHERE code = ? AND used_at IS NULL AND expires_at > ?",
        [now, `${channel}:${externalId}`, code.trim().toUpperCase(), now],
      );
      if (used.changes === 0) return null;
      const row = await db.get<{ tenant_id: string }>("SELECT tenant_id FROM os_pairing_codes WHERE code = ?", [
        code.trim().toUpperCase(),
      ]);
      const tenantId = row!.tenant_id;
      await db.run("DELETE FROM os_identities WHERE channel = ? AND external_id = ?", [channel, externalId]);
      await db.run(
        "INSERT INTO os_identities (channel, external_id, tenant_id, display, created_at) VALUES (?, ?, ?, ?, ?)",
        [channel, externalId, tenantId, display ?? null, now],
      );
      return tenantId;
    });
  }

  /** Binds an identity directly (the operator vouches for it). */
  async bindIdentity(tenantId: string, channel: string, externalId: string, display?: string): Promise<void> {
    await this.require(tenantId);
    await this.#db.tx(async (db) => {
      await db.run("DELETE FROM os_identities WHERE channel = ? AND external_id = ?", [channel, externalId]);
      await db.run(
        "INSERT INTO os_identities (channel, external_id, tenant_id, display, created_at) VALUES (?, ?, ?, ?, ?)",
        [channel, externalId, tenantId, display ?? null, this.#now()],
      );
    });
  }

  async unbindIdentity(tenantId: string, channel: string, externalId: string): Promise<void> {
    const r = await this.#db.run("DELETE FROM os_identities WHERE channel = ? AND external_id = ? AND tenant_id = ?", [
      channel,
      externalId,
      tenantId,
    ]);
    if (r.changes === 0) throw notFound(`identity ${channel}:${externalId}`);
  }

  /** The tenant a channel identity is bound to, or null: an unknown sender. */
  async tenantOf(channel: string, externalId: string): Promise<string | null> {
    const r = await this.#db.get<{ tenant_id: string }>(
      "SELECT tenant_id FROM os_identities WHERE channel = ? AND external_id = ?",
      [channel, externalId],
    );
    return r?.tenant_id ?? null;
  }

  async identities(
    tenantId: string,
  ): Promise<{ channel: string; externalId: string; display: string | null; createdAt: number }[]> {
    const rows = await this.#db.all<{
      channel: string;
      external_id: string;
      display: string | null;
      created_at: number;
    }>("SELECT channel, external_id, display, created_at FROM os_identities WHERE tenant_id = ? ORDER BY created_at", [
      tenantId,
    ]);
    return rows.map((r) => ({
      channel: r.channel,
      externalId: r.external_id,
      display: r.display,
      createdAt: r.created_at,
    }));
  }
}

export function toTenant(r: TenantRow): Tenant {
  return {
    id: r.id,
    name: r.name,
    settings: TenantSettings.parse(JSON.parse(r.settings)),
    createdAt: Number(r.created_at),
  };
}
