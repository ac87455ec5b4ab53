import { createHash, timingSafeEqual } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Bot, GrammyError, type Context } from "grammy";
import type { Update } from "grammy/types";
import { Hono } from "hono";
import type { Agentd } from "../../app.ts";
import { approvals, eventName, type ApprovalChoice } from "../../agent/approvals.ts";
import type { ChannelAdapter, Delivery } from "../../agent/delivery.ts";
import { UNPAIRED_REPLY } from "../../sessions/inbox.ts";
import { splitMessage } from "./split.ts";

export { splitMessage, TELEGRAM_MAX_TEXT } from "./split.ts";

export const TELEGRAM = "telegram";

export interface TelegramOptions {
  token: string;
  /** The `secret_token` given to setWebhook; every webhook call must carry it. */
  secretToken: string;
  /** Bot API root (a local stand-in in tests); Telegram's by default. */
  apiRoot?: string;
  /** Longest `retry_after` honoured by waiting (seconds); a longer one fails the call. */
  maxRetryAfter?: number;
  /** How long the typing indicator is kept up for a turn at most (it stops at the first delivery). */
  maxTypingMs?: number;
  onError?: (error: unknown) => void;
}

export interface TelegramChannel {
  adapter: ChannelAdapter;
  /** A Hono app whose `POST /` takes Telegram's webhook calls. */
  webhook: Hono;
  /** Long polling until `signal` aborts (for machines without a public URL). */
  poll(signal: AbortSignal): Promise<void>;
  bot: Bot;
  /** Stops typing indicators still running. */
  close(): void;
}

const CHOICES: Record<ApprovalChoice, string> = { once: "Approved once.", always: "Approved, and always from now on.", deny: "Denied." };

/** The Telegram channel: inbound updates (webhook or polling) into the inbox, deliveries out through the Bot API. */
export function telegramChannel(app: Agentd, opts: TelegramOptions): TelegramChannel {
  const bot = new Bot(opts.token, opts.apiRoot ? { client: { apiRoot: opts.apiRoot } } : {});
  const onError = opts.onError ?? (() => {});
  const maxRetryAfter = opts.maxRetryAfter ?? 60;

  // 429: wait as long as Telegram says, then try again (flood control is per chat and per bot).
  bot.api.config.use(async (prev, method, payload, signal) => {
    for (let attempt = 0; ; attempt++) {
      const res = await prev(method, payload, signal);
      const wait = !res.ok && res.error_code === 429 ? (res.parameters?.retry_after ?? 1) : null;
      if (wait === null || wait > maxRetryAfter || attempt >= 5) return res;
      await sleep(wait * 1000, undefined, signal ? { signal: signal as unknown as AbortSignal } : {});
    }
  });

  bot.on("message:text", async (ctx) => {
    const from = ctx.from;
    const text = ctx.message.text;
    const out = await app.inbox.fromIdentity({
      channel: TELEGRAM, externalId: String(from.id), conversation: String(ctx.chat.id), text,
      sourceKey: `tg:${ctx.update.update_id}`, ...(from.username ? { display: from.username } : {}),
    });
    // The message is persisted (or needed no persisting): what follows may fail without losing it.
    if (out.kind === "turn") {
      if (!out.received.duplicate) typing.start(String(ctx.chat.id));
      return;
    }
    await ctx.reply(out.reply).catch(onError);
  });

  // Photos, voice notes, documents: not read yet, and said so rather than ignored.
  bot.on("message", async (ctx) => {
    const known = await app.tenants.tenantOf(TELEGRAM, String(ctx.from.id));
    await ctx.reply(known ? "I can only read text messages for now." : UNPAIRED_REPLY).catch(onError);
  });

  bot.on("callback_query:data", async (ctx) => {
    const m = /^apr:([^:]+):(once|always|deny)$/.exec(ctx.callbackQuery.data);
    if (!m) return void (await ctx.answerCallbackQuery({ text: "Unknown button." }).catch(onError));
    const [, id, choice] = m as unknown as [string, string, ApprovalChoice];
    const tenantId = await app.tenants.tenantOf(TELEGRAM, String(ctx.from.id));
    const scope = tenantId ? app.tenants.scope(tenantId) : null;
    // Scoped to the presser's tenant: another tenant's approval is simply not found.
    const a = scope ? await approvals.get(scope, id) : null;
    const now = app.kernel.clock.now();
    if (!scope || !a) return void (await ctx.answerCallbackQuery({ text: "This button is not yours." }).catch(onError));
    if (a.status !== "pending" || a.expiresAt <= now) return void (await ctx.answerCallbackQuery({ text: `Already ${a.status === "pending" ? "expired" : a.status}.` }).catch(onError));
    try {
      await approvals.decide(scope, id, choice, `telegram:${ctx.from.id}`, now, async (runId, ev) => {
        await app.kernel.sendEvent(runId, eventName(id), ev, { eventId: id });
      });
    } catch (e) {
      return void (await ctx.answerCallbackQuery({ text: `Not decided: ${(e as Error).message}`.slice(0, 200) }).catch(onError));
    }
    await ctx.answerCallbackQuery({ text: CHOICES[choice] }).catch(onError);
    // The buttons go away and the message says what was decided (best effort: the decision stands).
    const msg = ctx.callbackQuery.message;
    if (msg && "text" in msg && msg.text) await ctx.editMessageText(`${msg.text}\n\n${CHOICES[choice]}`).catch(onError);
  });

  /** The typing indicator: Telegram shows it for about 5 s, so it is renewed until the first delivery. */
  const typing = (() => {
    const timers = new Map<string, { interval: NodeJS.Timeout; until: number }>();
    const limit = opts.maxTypingMs ?? 120_000;
    const send = (chatId: string) => void bot.api.sendChatAction(chatId, "typing").catch(onError);
    const stop = (chatId: string) => {
      const t = timers.get(chatId);
      if (t) clearInterval(t.interval);
      timers.delete(chatId);
    };
    return {
      start(chatId: string) {
        stop(chatId);
        send(chatId);
        const until = Date.now() + limit;
        const interval = setInterval(() => (Date.now() > until ? stop(chatId) : send(chatId)), 4_000);
        interval.unref();
        timers.set(chatId, { interval, until });
      },
      stop,
      close: () => [...timers.keys()].forEach(stop),
    };
  })();

  let ready: Promise<void> | null = null;
  const init = () => (ready ??= bot.init().catch((e: unknown) => {
    ready = null;
    throw e;
  }));

  /** Parts already sent per delivery key: a retried delivery sends only what is missing. */
  const sent = new Map<string, number>();
  const remember = (key: string, parts: number) => {
    sent.delete(key);
    sent.set(key, parts);
    if (sent.size > 10_000) sent.delete(sent.keys().next().value as string);
  };

  const adapter: ChannelAdapter = {
    channel: TELEGRAM,
    async deliver(d: Delivery) {
      const chatId = d.session.conversation;
      typing.stop(chatId);
      if (d.kind === "approval" && d.approval) {
        if (sent.has(d.key)) return;
        const { id } = d.approval;
        await bot.api.sendMessage(chatId, d.text, {
          reply_markup: {
            inline_keyboard: [[
              { text: "Approve once", callback_data: `apr:${id}:once` },
              { text: "Always", callback_data: `apr:${id}:always` },
              { text: "Deny", callback_data: `apr:${id}:deny` },
            ]],
          },
        });
        remember(d.key, 1);
        return;
      }
      const parts = splitMessage(d.text);
      for (let i = sent.get(d.key) ?? 0; i < parts.length; i++) {
        await bot.api.sendMessage(chatId, parts[i] as string);
        remember(d.key, i + 1);
      }
    },
  };

  const webhook = new Hono();
  const expected = digest(opts.secretToken);
  webhook.post("/", async (c) => {
    const given = c.req.header("x-telegram-bot-api-secret-token");
    if (given === undefined || !timingSafeEqual(digest(given), expected)) return c.json({ error: "unauthorized" }, 401);
    let update: Update;
    try {
      update = (await c.req.json()) as Update;
    } catch {
      return c.json({ error: "bad json" }, 400);
    }
    if (typeof update?.update_id !== "number") return c.json({ error: "not an update" }, 400);
    try {
      await init();
      await bot.handleUpdate(update);
    } catch (e) {
      // Not persisted: a non-200 makes Telegram deliver the update again.
      onError(e);
      return c.json({ error: "not processed" }, 500);
    }
    return c.json({ ok: true });
  });

  async function poll(signal: AbortSignal): Promise<void> {
    // grammY types its signal with the abort-controller shim; Node's is the same thing at run time.
    const gsignal = signal as unknown as Parameters<typeof bot.api.getUpdates>[1];
    let offset = 0;
    let backoff = 500;
    while (!signal.aborted) {
      try {
        await init();
        if (offset === 0) await bot.api.deleteWebhook({}, gsignal);
        const updates = await bot.api.getUpdates({ offset, timeout: 30, allowed_updates: ["message", "callback_query"] }, gsignal);
        for (const u of updates) {
          // The offset moves past an update only once it is handled: a failure fetches it again.
          await bot.handleUpdate(u);
          offset = u.update_id + 1;
        }
        backoff = 500;
      } catch (e) {
        if (signal.aborted) break;
        onError(e);
        if (e instanceof GrammyError && e.error_code === 401) throw e; // a wrong token never heals
        await sleep(backoff, undefined, { signal }).catch(() => {});
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  return { adapter, webhook, poll, bot, close: typing.close };
}

const digest = (s: string) => createHash("sha256").update(s).digest();

export type { Context };
