import { createHash, randomBytes } from "node:crypto";
import type { Api } from "grammy";
import type { Update } from "grammy/types";
import { Hono } from "hono";
import type { AdapterResolver, ChannelHost } from "../ports.ts";
import type { Db } from "../../db/index.ts";
import type { Tenants } from "../../tenancy/tenants.ts";
import type { Vault } from "../../vault/vault.ts";
import { newId } from "../../ids.ts";
import { AgentdError, badRequest, conflict } from "../../errors.ts";
import { RESERVED_PREFIX } from "../../vault/vault.ts";
import { type BotMode, botRows, type TenantBot } from "./bot-rows.ts";
import type { TelegramChannel, TelegramHost, TelegramOptions } from "./index.ts";
import { errorBody } from "../../api/errors.ts";
import { PAIRING } from "../../sessions/inbox.ts";

export type { BotMode, TenantBot } from "./bot-rows.ts";

/** Where tenant bots' webhooks are served: `<AGENTD_PUBLIC_URL>/channels/telegram/<botId>` (the deployment's bot has `/channels/telegram` itself). */
export const TENANT_BOTS_PATH = "/channels/telegram";

/** The channel a tenant bot's identities and sessions are filed under: its own, so two bots' never mix. */
export const botChannel = (botId: string) => `telegram:${botId}`;
const BOT_ID = /^tgb_[0-9a-z]{20}$/;
const CHANNEL = /^telegram:(tgb_[0-9a-z]{20})$/;

/** Vault names of a bot's token and webhook secret: reserved, so no tool reads them and the secrets API cannot touch them. */
export const tokenSecretName = (botId: string) => `${RESERVED_PREFIX}telegram.${botId}.token`;
export const webhookSecretName = (botId: string) => `${RESERVED_PREFIX}telegram.${botId}.secret`;

/** A token as BotFather gives it (`<bot id>:<secret>`); checked before it goes into any URL path. */
const TOKEN = /^[0-9]{1,20}:[A-Za-z0-9_-]{1,200}$/;
const UNKNOWN_CODE = "That pairing code is unknown, used or expired. Ask the operator for a new one.";

export interface TelegramBotsOptions {
  /** Bot API root (TELEGRAM_API_ROOT; a stand-in in tests). */
  apiRoot?: string;
  /** AGENTD_PUBLIC_URL: with it, bots default to webhook mode and setWebhook points at this agentd. */
  publicUrl?: string;
  /** Where failures of bots are reported, one line each, tokens redacted. */
  log?: (line: string) => void;
  /** The deployment's own bot (TELEGRAM_BOT_TOKEN): not to be added to a tenant as well. */
  deploymentToken?: string;
  /** More options for every bot's channel (tests shorten waits). */
  channel?: Partial<TelegramOptions>;
}

interface Live {
  bot: TenantBot;
  channel: TelegramChannel;
}

/**
 * grammY and a bot's channel, loaded when a tenant's bot is first added, removed or served (a webhook
 * call, a delivery, a poller), not with agentd: grammY and what it needs are some 30 modules.
 */
let botCode:
  | Promise<{
      grammy: typeof import("grammy");
      channel: typeof import("./index.ts");
      redact: typeof import("./redact.ts");
    }>
  | undefined;
const loadBotCode = () =>
  (botCode ??= Promise.all([import("grammy"), import("./index.ts"), import("./redact.ts")]).then(
    ([grammy, channel, redact]) => ({ grammy, channel, redact }),
  ));
type BotCode = Awaited<ReturnType<typeof loadBotCode>>;

/**
 * What the tenant bots reach: what each bot's channel does, plus the OS store (their rows, pairing
 * codes), the vault (their tokens and webhook secrets) and the tenants (that one exists).
 */
export type BotsHost = TelegramHost &
  Pick<ChannelHost, "db"> & {
    tenants: TelegramHost["tenants"] & Pick<Tenants, "require">;
    vault: Pick<Vault, "get" | "put" | "delete">;
  };

/**
 * Tenants' own Telegram bots (one registry per agentd, made by `wireChannels`: the API routes, the
 * webhook router and the pollers share the bots built so far): added with a token (checked with getMe, kept in the tenant's vault
 * under a reserved name), served by webhook or long polling, removed with their secrets. Each bot's
 * channel is built when first needed (a webhook call, a delivery, a poller) and cached, so a process
 * started before a bot was added serves it all the same.
 */
export class TelegramBots {
  readonly #host: BotsHost;
  readonly #opts: TelegramBotsOptions;
  readonly #live = new Map<string, Promise<Live | null>>();

  constructor(host: BotsHost, opts: TelegramBotsOptions) {
    this.#host = host;
    this.#opts = opts;
  }

  get publicUrl(): string | null {
    return this.#opts.publicUrl ? this.#opts.publicUrl.replace(/\/+$/, "") : null;
  }

  #log(line: string): void {
    (this.#opts.log ?? ((l: string) => process.stderr.write(`agentd: ${l}\n`)))(line);
  }

  #api(code: BotCode, token: string): Api {
    return new code.grammy.Api(token, this.#opts.apiRoot ? { apiRoot: this.#opts.apiRoot } : {});
  }

  /** Adds a bot to the tenant: the token is checked with getMe, stored in the vault, and in webhook mode Telegram is told where to call. */
  async create(tenantId: string, token: string, mode?: BotMode): Promise<TenantBot> {
    const host = this.#host;
    await host.tenants.require(tenantId);
    token = token.trim();
    if (!TOKEN.test(token))
      throw badRequest(
        "that is not a Telegram bot token: BotFather gives one like 123456789:AAH…, digits, a colon, then letters, digits, '_' and '-'",
      );
    const publicUrl = this.publicUrl;
    const chosen: BotMode = mode ?? (publicUrl ? "webhook" : "polling");
    if (chosen === "webhook" && !publicUrl)
      throw badRequest(
        'webhook mode needs AGENTD_PUBLIC_URL (the public https URL of this agentd) so Telegram knows where to call; set it, or add the bot with mode "polling"',
      );
    if (this.#opts.deploymentToken && token === this.#opts.deploymentToken.trim())
      throw conflict(
        "this is the deployment's own bot (TELEGRAM_BOT_TOKEN); a tenant needs a bot of its own, made with @BotFather",
      );
    const tokenHash = createHash("sha256").update(token).digest("hex");
    const taken = await botRows.byTokenHash(host.db, tokenHash);
    if (taken)
      throw conflict(
        taken.tenantId === tenantId
          ? `this bot is already added to this tenant (${taken.id}); remove it first to add it again`
          : "this bot is already connected to another tenant of this agentd; Telegram gives a bot's updates to one receiver only",
      );

    const code = await loadBotCode();
    const api = this.#api(code, token);
    let me: Awaited<ReturnType<Api["getMe"]>>;
    try {
      me = await api.getMe();
    } catch (e) {
      throw this.#refusal(code, "getMe", e, token);
    }

    const scope = host.tenants.scope(tenantId);
    const id = newId("tgb", host.now());
    // Telegram allows 1-256 of A-Z a-z 0-9 _ - in secret_token: base64url fits.
    const secret = randomBytes(32).toString("base64url");
    const webhookUrl = chosen === "webhook" ? `${publicUrl}${TENANT_BOTS_PATH}/${id}` : null;
    let bot: TenantBot;
    try {
      await host.vault.put(scope, tokenSecretName(id), token);
      await host.vault.put(scope, webhookSecretName(id), secret);
      // The row exists before setWebhook: Telegram may call the moment the webhook is set.
      bot = await botRows.insert(
        scope,
        { id, username: me.username ?? null, mode: chosen, tokenHash, telegramId: me.id, webhookUrl },
        host.now(),
      );
      if (webhookUrl) {
        try {
          await api.setWebhook(webhookUrl, { secret_token: secret, allowed_updates: ["message", "callback_query"] });
        } catch (e) {
          throw this.#refusal(code, "setWebhook", e, token);
        }
      }
    } catch (e) {
      await this.#forget(tenantId, id);
      throw e;
    }
    return bot;
  }

  async list(tenantId: string): Promise<TenantBot[]> {
    return botRows.list(this.#host.tenants.scope(tenantId));
  }

  /**
   * Removes the tenant's bot: its webhook at Telegram (best effort: a revoked token cannot), its
   * row, its secrets and the identities paired through it. A poller in another process lets go at
   * its next rescan. Another tenant's bot id is simply not found.
   */
  async remove(tenantId: string, id: string): Promise<{ webhookRemoved: boolean }> {
    const scope = this.#host.tenants.scope(tenantId);
    const bot = await botRows.get(scope, id);
    if (!bot)
      throw new AgentdError(
        "not_found",
        `telegram bot ${JSON.stringify(id.slice(0, 80))} not found in this tenant; list its bots with GET /v1/channels/telegram or \`agentd bots list\``,
      );
    const token = await this.#host.vault.get(scope, tokenSecretName(id));
    let webhookRemoved = false;
    if (token) {
      const code = await loadBotCode();
      try {
        await this.#api(code, token).deleteWebhook();
        webhookRemoved = true;
      } catch (e) {
        this.#log(
          `telegram bot ${id}: deleteWebhook failed while removing the bot (${code.redact.describeBotError(e, token)}); its row and secrets are removed anyway`,
        );
      }
    }
    await this.#forget(tenantId, id);
    return { webhookRemoved };
  }

  /** Row, secrets, identities and the cached channel of a bot: what removing it, or a failed add, leaves behind. */
  async #forget(tenantId: string, id: string): Promise<void> {
    const scope = this.#host.tenants.scope(tenantId);
    await botRows.delete(scope, id);
    for (const name of [tokenSecretName(id), webhookSecretName(id)])
      await this.#host.vault.delete(scope, name).catch(() => {});
    await scope.run("DELETE FROM os_identities WHERE tenant_id = $tenant AND channel = ?", [botChannel(id)]);
    await this.evict(id);
  }

  #refusal(code: BotCode, method: string, e: unknown, token: string): AgentdError {
    const { describeBotError } = code.redact;
    if (e instanceof code.grammy.GrammyError) {
      if (e.error_code === 401 || e.error_code === 404)
        return badRequest(
          `Telegram refused the token (${method}: ${e.error_code} ${e.description}): copy it again from @BotFather`,
        );
      return badRequest(`Telegram refused ${method} (${e.error_code} ${e.description})`);
    }
    return new AgentdError(
      "telegram_unreachable",
      `cannot reach the Telegram Bot API (${describeBotError(e, token)}); try again, or check TELEGRAM_API_ROOT and the network`,
    );
  }

  /** The bot's channel, built on first use from its row and vault secrets; null when there is no such bot. */
  channel(id: string): Promise<Live | null> {
    let p = this.#live.get(id);
    if (!p) {
      p = this.#build(id);
      this.#live.set(id, p);
      // A miss or a failure is not cached: the bot may be added, or the store come back.
      p.then(
        (v) => v ?? this.#live.delete(id),
        () => this.#live.delete(id),
      );
    }
    return p;
  }

  async #build(id: string): Promise<Live | null> {
    const host = this.#host;
    const bot = await botRows.find(host.db, id);
    if (!bot) return null;
    const scope = host.tenants.scope(bot.tenantId);
    const [token, secret] = [
      await host.vault.get(scope, tokenSecretName(id)),
      await host.vault.get(scope, webhookSecretName(id)),
    ];
    if (!token || !secret) return null; // being removed
    const { channel: code, redact } = await loadBotCode();
    const { describeBotError } = redact;
    const channel = code.telegramChannel(host, {
      ...this.#opts.channel,
      token,
      secretToken: secret,
      channel: botChannel(id),
      ...(this.#opts.apiRoot ? { apiRoot: this.#opts.apiRoot } : {}),
      onError: (e) => this.#log(`telegram bot ${id}: ${describeBotError(e, token)}`),
      log: (line) => this.#log(`telegram bot ${id}: ${line}`),
    });
    guardPairing(host.db, channel, bot.tenantId);
    return { bot, channel };
  }

  /** Drops a bot's cached channel (removed here or in another process). */
  async evict(id: string): Promise<void> {
    const p = this.#live.get(id);
    this.#live.delete(id);
    (await p?.catch(() => null))?.channel.close();
  }

  /** Drops cached channels of bots removed by other processes; returns every bot, for the pollers. */
  async sync(): Promise<TenantBot[]> {
    const all = await botRows.all(this.#host.db);
    const ids = new Set(all.map((b) => b.id));
    for (const id of [...this.#live.keys()]) if (!ids.has(id)) await this.evict(id);
    return all;
  }

  close(): void {
    for (const id of [...this.#live.keys()]) void this.evict(id);
  }

  /** Finds the adapter of a `telegram:<botId>` channel, for deliveries (registered with `AdapterRegistry.addResolver`). */
  readonly resolver: AdapterResolver = async (channel) => {
    const m = CHANNEL.exec(channel);
    return m ? ((await this.channel(m[1] as string))?.channel.adapter ?? null) : null;
  };

  /** Telegram's calls for every tenant bot in webhook mode, `POST /:botId`; each bot checks its own secret. */
  webhook(): Hono {
    const app = new Hono();
    app.post("/:botId", async (c) => {
      const id = c.req.param("botId");
      const live = BOT_ID.test(id) ? await this.channel(id) : null;
      if (live?.bot.mode !== "webhook")
        return c.json(errorBody("not_found", "no bot of agentd takes webhooks at this address"), 404);
      return live.channel.webhook.request("/", {
        method: "POST",
        headers: c.req.raw.headers,
        body: await c.req.arrayBuffer(),
      });
    });
    return app;
  }
}

/**
 * A tenant's bot pairs people with that tenant only: a code of another tenant sent to it is answered
 * as an unknown code, so no tenant's conversations run through another tenant's bot (whose owner
 * controls its token and webhook).
 */
function guardPairing(db: Db, ch: TelegramChannel, tenantId: string): void {
  const bot = ch.bot;
  const handle = bot.handleUpdate.bind(bot);
  bot.handleUpdate = async (update: Update, ...rest) => {
    const msg = update.message;
    const code = msg?.text ? PAIRING.exec(msg.text)?.[1] : undefined;
    if (msg && code) {
      const row = await db.get<{ tenant_id: string }>("SELECT tenant_id FROM os_pairing_codes WHERE code = ?", [
        code.toUpperCase(),
      ]);
      if (row && row.tenant_id !== tenantId) {
        await bot.api.sendMessage(msg.chat.id, UNKNOWN_CODE);
        return;
      }
    }
    return handle(update, ...rest);
  };
}
