import { setTimeout as sleep } from "node:timers/promises";
import type { Bot } from "grammy";

/**
 * 429: wait as long as Telegram says, then try again (flood control is per chat and per bot). A wait
 * longer than `maxRetryAfter` seconds fails the call instead of stalling a turn.
 */
export function honourRetryAfter(bot: Bot, maxRetryAfter: number): void {
  bot.api.config.use(async (prev, method, payload, signal) => {
    for (let attempt = 0; ; attempt++) {
      const res = await prev(method, payload, signal);
      const wait = !res.ok && res.error_code === 429 ? (res.parameters?.retry_after ?? 1) : null;
      if (wait === null || wait > maxRetryAfter || attempt >= 5) return res;
      await sleep(wait * 1000, undefined, signal ? { signal: signal as unknown as AbortSignal } : {});
    }
  });
}
