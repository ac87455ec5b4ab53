import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Bot, GrammyError } from "grammy";
import { startTelegramServer } from "../../support/telegram-server.ts";

describe("Bot API stand-in", () => {
  test("speaks like Telegram: length limit, unchanged edits, bad token, form bodies", async (t) => {
    const tg = await startTelegramServer();
    t.after(() => tg.close());
    const bot = new Bot(tg.token, { client: { apiRoot: tg.apiRoot } });
    await assert.rejects(
      bot.api.sendMessage(1, "x".repeat(4097)),
      (e: unknown) => e instanceof GrammyError && e.error_code === 400 && /message is too long/.test(e.description),
    );
    const m = await bot.api.sendMessage(1, "hello");
    await assert.rejects(
      bot.api.editMessageText(1, m.message_id, "hello"),
      (e: unknown) => e instanceof GrammyError && /message is not modified/.test(e.description),
    );
    assert.equal((await bot.api.editMessageText(1, m.message_id, "hello!")) !== true, true);
    await assert.rejects(
      new Bot("1:bad", { client: { apiRoot: tg.apiRoot } }).api.getMe(),
      (e: unknown) => e instanceof GrammyError && e.error_code === 401,
    );
    const form = await fetch(`${tg.apiRoot}/bot${tg.token}/sendMessage`, {
      method: "POST",
      body: new URLSearchParams({ chat_id: "2", text: "via form" }),
    });
    assert.equal(((await form.json()) as { result: { text: string } }).result.text, "via form");
    tg.rateLimitNext("getMe", 3);
    const limited = (await (await fetch(`${tg.apiRoot}/bot${tg.token}/getMe`, { method: "POST" })).json()) as {
      error_code: number;
      parameters: { retry_after: number };
    };
    assert.deepEqual([limited.error_code, limited.parameters.retry_after], [429, 3]);
  });
});
