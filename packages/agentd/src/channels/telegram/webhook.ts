import { createHash, timingSafeEqual } from "node:crypto";
import type { Bot } from "grammy";
import type { Update } from "grammy/types";
import { Hono } from "hono";
import { errorBody } from "../../api/errors.ts";
import { malformedUpdate } from "./update-shape.ts";

/**
 * Telegram's webhook calls: the secret header is checked in constant time before anything is read,
 * and the 200 goes out only after the update is handled (persisted), so a failure is redelivered.
 */
export function webhookApp(
  bot: Bot,
  secretToken: string,
  init: () => Promise<void>,
  onError: (e: unknown) => void,
): Hono {
  const webhook = new Hono();
  const expected = digest(secretToken);
  webhook.post("/", async (c) => {
    const given = c.req.header("x-telegram-bot-api-secret-token");
    if (given === undefined || !timingSafeEqual(digest(given), expected))
      return c.json(errorBody("unauthorized", "the X-Telegram-Bot-Api-Secret-Token header is missing or wrong"), 401);
    let update: Update;
    try {
      update = (await c.req.json()) as Update;
    } catch {
      return c.json(errorBody("bad_request", "the body is not JSON"), 400);
    }
    if (typeof update?.update_id !== "number")
      return c.json(errorBody("bad_request", "the body is not a Telegram update: update_id is missing"), 400);
    // Signed by Telegram but unreadable: acknowledged, since a refusal would be delivered again forever.
    const malformed = malformedUpdate(update);
    if (malformed) {
      onError(malformed);
      return c.json({ ok: true, ignored: malformed.message });
    }
    try {
      await init();
      await bot.handleUpdate(update);
    } catch (e) {
      // Not persisted: a non-200 makes Telegram deliver the update again.
      onError(e);
      return c.json(errorBody("not_processed", "the update was not processed; Telegram delivers it again"), 500);
    }
    return c.json({ ok: true });
  });
  return webhook;
}

const digest = (s: string) => createHash("sha256").update(s).digest();
