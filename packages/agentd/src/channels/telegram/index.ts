import { Api, Bot, type Context } from "grammy";
import type { Hono } from "hono";
import type { ChannelAdapter, ChannelHost } from "../ports.ts";
import { botConnection } from "./connection.ts";
import { handleInbound } from "./inbound.ts";
import { telegramAdapter } from "./outbound.ts";
import { pollUpdates } from "./poll.ts";
import { registerWebhook } from "./register.ts";
import { honourRetryAfter } from "./retry.ts";
import { typingIndicator } from "./typing.ts";
import { webhookApp } from "./webhook.ts";

export { splitMessage, TELEGRAM_MAX_TEXT } from "./split.ts";

export const TELEGRAM = "telegram";

export interface TelegramOptions {
  token: string;
  /** The `secret_token` given to setWebhook; every webhook call must carry it. */
  secretToken: string;
  /** The channel name sessions and identities are filed under: "telegram" for the deployment's bot. */
  channel?: string;
  /** Bot API root (a local stand-in in tests); Telegram's by default. */
  apiRoot?: string;
  /** Longest `retry_after` honoured by waiting (seconds); a longer one fails the call. */
  maxRetryAfter?: number;
  /** How long the typing indicator is kept up for a turn at most (it stops at the first delivery). */
  maxTypingMs?: number;
  /** Least time between two updates of a live reply in one chat (default 1000 ms; groups 3000 ms). */
  liveIntervalMs?: number;
  groupLiveIntervalMs?: number;
  onError?: (error: unknown) => void;
  /** Lines about the bot's link to the Bot API (down with its cause and the next try, up again). */
  log?: (line: string) => void;
}

export interface TelegramChannel {
  adapter: ChannelAdapter;
  /** A Hono app whose `POST /` takes Telegram's webhook calls. */
  webhook: Hono;
  /** Long polling until `signal` aborts (for machines without a public URL). */
  poll(signal: AbortSignal): Promise<void>;
  bot: Bot;
  /** Points Telegram's webhook at `url` (with the secret token), trying until it is set or `signal` aborts. */
  registerWebhook(url: string, signal: AbortSignal): Promise<boolean>;
  /** Stops typing indicators still running. */
  close(): void;
}

/** What a Telegram bot reaches of agentd: messages in (inbox, decisions, blobs), deliveries out (tenants' outbox rows), its link's health. */
export type TelegramHost = Pick<ChannelHost, "inbox" | "decisions" | "tenants" | "blobs" | "health" | "db" | "now">;

/** The Telegram channel: inbound updates (webhook or polling) into the inbox, deliveries out through the Bot API. */
export function telegramChannel(host: TelegramHost, opts: TelegramOptions): TelegramChannel {
  const bot = new Bot(opts.token, opts.apiRoot ? { client: { apiRoot: opts.apiRoot } } : {});
  const onError = opts.onError ?? (() => {});
  const channel = opts.channel ?? TELEGRAM;
  honourRetryAfter(bot, opts.maxRetryAfter ?? 60);
  // Live previews go through their own client, without the retry-after wait: a preview that is refused
  // is skipped until Telegram allows the next one, instead of holding the turn.
  const liveApi = new Api(opts.token, opts.apiRoot ? { apiRoot: opts.apiRoot } : {});
  const typing = typingIndicator(bot, opts.maxTypingMs ?? 120_000, onError);
  handleInbound(bot, { host, channel, typing, onError, apiRoot: opts.apiRoot });

  const connection = botConnection(opts.token, opts.log ?? ((line) => onError(new Error(line))));
  // In /health and /metrics while the channel lives: down from a failed Bot API call until one goes through.
  const unwatch = host.health.add(
    channel,
    () => connection.state() ?? { ok: true, detail: "the Bot API has not been called yet" },
  );
  // getMe once, without grammY's init (which retries network errors forever, silently): a failure is
  // thrown to the caller, who logs it and tries again with a visible backoff.
  let ready: Promise<void> | null = null;
  const init = () =>
    (ready ??= (async () => {
      if (!bot.isInited()) bot.botInfo = await bot.api.getMe();
    })().catch((e: unknown) => {
      ready = null;
      throw e;
    }));

  return {
    adapter: telegramAdapter(host, bot, liveApi, {
      channel,
      typing,
      onError,
      live: { intervalMs: opts.liveIntervalMs ?? 1000, groupIntervalMs: opts.groupLiveIntervalMs ?? 3000 },
    }),
    webhook: webhookApp(bot, opts.secretToken, init, onError),
    poll: (signal) => pollUpdates(bot, signal, init, onError, connection),
    registerWebhook: (url, signal) => registerWebhook(bot, { url, secretToken: opts.secretToken }, connection, signal),
    bot,
    close: () => {
      typing.close();
      unwatch();
    },
  };
}

export type { Context };
