import { type TelegramOptions, telegramChannel } from "../../src/channels/telegram/index.ts";
import { testAgentd } from "./app.ts";
import type { Backend } from "./backends.ts";
import { startTelegramServer, type TelegramServer } from "./telegram-server.ts";

export const WEBHOOK_SECRET = "hook-secret-123";

/**
 * A test's agentd with the deployment's Telegram bot wired to a fresh Bot API stand-in; `post` sends
 * an update to the webhook as Telegram does (with the secret unless another, or null, is given).
 */
export async function telegramRig(
  t: { after(fn: () => unknown): void }, b: Backend,
  opts: Parameters<typeof testAgentd>[2] & { server?: Parameters<typeof startTelegramServer>[0]; channel?: Partial<TelegramOptions> } = {},
) {
  const tg: TelegramServer = await startTelegramServer(opts.server);
  t.after(() => tg.close());
  const env = await testAgentd(t, b, opts);
  const ch = telegramChannel(env.app, { token: tg.token, secretToken: WEBHOOK_SECRET, apiRoot: tg.apiRoot, ...opts.channel });
  env.app.channels.register(ch.adapter);
  t.after(() => ch.close());
  const post = (update: object, secret: string | null = WEBHOOK_SECRET) =>
    ch.webhook.request("/", {
      method: "POST",
      headers: { "content-type": "application/json", ...(secret === null ? {} : { "x-telegram-bot-api-secret-token": secret }) },
      body: JSON.stringify(update),
    });
  return { ...env, tg, ch, post };
}

/** The sendMessage calls the stand-in received for one chat, in order. */
export const sentTo = (tg: TelegramServer, chatId: number | string) => tg.callsOf("sendMessage").filter((c) => String(c.params.chat_id) === String(chatId));
