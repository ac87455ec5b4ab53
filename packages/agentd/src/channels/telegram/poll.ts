import { setTimeout as sleep } from "node:timers/promises";
import { type Bot, GrammyError } from "grammy";
import { type BotConnection, isBotApiFailure } from "./connection.ts";
import { malformedUpdate } from "./update-shape.ts";

/** Long polling until `signal` aborts, for machines without a public URL. */
export async function pollUpdates(
  bot: Bot,
  signal: AbortSignal,
  init: () => Promise<void>,
  onError: (e: unknown) => void,
  connection: BotConnection,
): Promise<void> {
  // grammY types its signal with the abort-controller shim; Node's is the same thing at run time.
  const gsignal = signal as unknown as Parameters<typeof bot.api.getUpdates>[1];
  let offset = 0;
  let backoff = 500;
  while (!signal.aborted) {
    try {
      await init();
      if (offset === 0) await bot.api.deleteWebhook({}, gsignal);
      const updates = await bot.api.getUpdates(
        { offset, timeout: 30, allowed_updates: ["message", "callback_query"] },
        gsignal,
      );
      connection.ok();
      for (const u of updates) {
        // The offset moves past an update only once it is handled: a failure fetches it again. One that
        // can never be handled is logged and passed, or it would stop the poller for good.
        const malformed = malformedUpdate(u);
        if (malformed) onError(malformed);
        else await bot.handleUpdate(u);
        offset = u.update_id + 1;
      }
      backoff = 500;
    } catch (e) {
      if (signal.aborted) break;
      const forGood = e instanceof GrammyError && e.error_code === 401; // a wrong token never heals
      if (isBotApiFailure(e)) connection.failed(e, forGood ? null : backoff);
      else onError(e);
      if (forGood) throw e;
      await sleep(backoff, undefined, { signal }).catch(() => {});
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
}
