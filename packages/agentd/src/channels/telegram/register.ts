import { setTimeout as sleep } from "node:timers/promises";
import { type Bot, GrammyError } from "grammy";
import type { BotConnection } from "./connection.ts";

/**
 * setWebhook for the deployment's bot, as tenants' bots get when they are added: Telegram is told
 * where to call and with which secret. Tried with backoff while the Bot API cannot be reached; a
 * refusal (bad token, a URL Telegram won't call) is for good and only logged. True once set.
 */
export async function registerWebhook(
  bot: Bot,
  hook: { url: string; secretToken: string },
  connection: BotConnection,
  signal: AbortSignal,
): Promise<boolean> {
  const gsignal = signal as unknown as Parameters<typeof bot.api.setWebhook>[2];
  let backoff = 500;
  while (!signal.aborted) {
    try {
      await bot.api.setWebhook(
        hook.url,
        { secret_token: hook.secretToken, allowed_updates: ["message", "callback_query"] },
        gsignal,
      );
      connection.ok();
      return true;
    } catch (e) {
      if (signal.aborted) break;
      const forGood = e instanceof GrammyError && e.error_code < 500 && e.error_code !== 429;
      connection.failed(e, forGood ? null : backoff);
      if (forGood) return false;
      await sleep(backoff, undefined, { signal }).catch(() => {});
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
  return false;
}
