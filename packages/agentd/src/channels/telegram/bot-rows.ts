import type { Db } from "../../db/index.ts";
import { conflict } from "../../errors.ts";
import type { TenantScope } from "../../tenancy/scope.ts";

/** A tenant's own Telegram bot, as the API shows it: never its token or webhook secret. */
export interface TenantBot {
  id: string;
  tenantId: string;
  /** The bot's @username, from getMe when it was added. */
  username: string | null;
  mode: BotMode;
  /** Where Telegram delivers its updates (webhook mode). */
  webhookUrl: string | null;
  createdAt: number;
}

export type BotMode = "webhook" | "polling";

/** What `config` (JSON) holds beside the columns of migration 2. */
interface BotConfig {
  /** SHA-256 of the token: the same bot is not added twice (Telegram allows one webhook or poller per bot). */
  tokenHash?: string;
  /** The bot's numeric Telegram id (getMe). */
  telegramId?: number;
  webhookUrl?: string;
}

interface Row {
  id: string;
  tenant_id: string;
  username: string | null;
  mode: string;
  config: string;
  created_at: number;
}

const KIND = "telegram";
const COLUMNS = "id, tenant_id, username, mode, config, created_at";

function toBot(r: Row): TenantBot {
  const config = JSON.parse(r.config || "{}") as BotConfig;
  return {
    id: r.id,
    tenantId: r.tenant_id,
    username: r.username,
    mode: r.mode === "webhook" ? "webhook" : "polling",
    webhookUrl: config.webhookUrl ?? null,
    createdAt: Number(r.created_at),
  };
}

/** Rows of os_channel_bots of kind "telegram": a tenant's own, through its scope; any, by id, for the webhook router and pollers. */
export const botRows = {
  async insert(
    scope: TenantScope,
    b: {
      id: string;
      username: string | null;
      mode: BotMode;
      tokenHash: string;
      telegramId: number;
      webhookUrl: string | null;
    },
    now: number,
  ): Promise<TenantBot> {
    const config: BotConfig = {
      tokenHash: b.tokenHash,
      telegramId: b.telegramId,
      ...(b.webhookUrl ? { webhookUrl: b.webhookUrl } : {}),
    };
    try {
      await scope.run(
        "INSERT INTO os_channel_bots (id, tenant_id, kind, username, mode, config, token_hash, created_at, updated_at) VALUES (?, $tenant, ?, ?, ?, ?, ?, ?, ?)",
        [b.id, KIND, b.username, b.mode, JSON.stringify(config), b.tokenHash, now, now],
      );
    } catch (e) {
      // The unique index settles two adds of one token racing past the earlier check.
      if (/UNIQUE constraint failed|duplicate key value/i.test(String((e as Error)?.message)))
        throw conflict(
          "this bot was just added by another request; Telegram gives a bot's updates to one receiver only",
        );
      throw e;
    }
    return {
      id: b.id,
      tenantId: scope.tenantId,
      username: b.username,
      mode: b.mode,
      webhookUrl: b.webhookUrl,
      createdAt: now,
    };
  },

  async list(scope: TenantScope): Promise<TenantBot[]> {
    const rows = await scope.all<Row>(
      `SELECT ${COLUMNS} FROM os_channel_bots WHERE tenant_id = $tenant AND kind = ? ORDER BY created_at, id`,
      [KIND],
    );
    return rows.map(toBot);
  },

  async get(scope: TenantScope, id: string): Promise<TenantBot | null> {
    const r = await scope.get<Row>(
      `SELECT ${COLUMNS} FROM os_channel_bots WHERE tenant_id = $tenant AND kind = ? AND id = ?`,
      [KIND, id],
    );
    return r ? toBot(r) : null;
  },

  async delete(scope: TenantScope, id: string): Promise<boolean> {
    return (
      (await scope.run("DELETE FROM os_channel_bots WHERE tenant_id = $tenant AND kind = ? AND id = ?", [KIND, id]))
        .changes > 0
    );
  },

  /** Any tenant's bot by id: the webhook URL names only the bot, the row names its tenant. */
  async find(db: Db, id: string): Promise<TenantBot | null> {
    const r = await db.get<Row>(`SELECT ${COLUMNS} FROM os_channel_bots WHERE kind = ? AND id = ?`, [KIND, id]);
    return r ? toBot(r) : null;
  },

  /** Every tenant's bots, for the pollers and for dropping cached bots that were removed. */
  async all(db: Db): Promise<TenantBot[]> {
    return (await db.all<Row>(`SELECT ${COLUMNS} FROM os_channel_bots WHERE kind = ? ORDER BY id`, [KIND])).map(toBot);
  },

  /** The bot (of any tenant) whose token has this hash, if one was added already. */
  async byTokenHash(db: Db, tokenHash: string): Promise<{ id: string; tenantId: string } | null> {
    const r = await db.get<{ id: string; tenant_id: string }>(
      "SELECT id, tenant_id FROM os_channel_bots WHERE kind = ? AND token_hash = ?",
      [KIND, tokenHash],
    );
    return r ? { id: r.id, tenantId: r.tenant_id } : null;
  },
};
