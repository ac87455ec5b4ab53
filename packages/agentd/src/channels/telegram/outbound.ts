import type { Bot } from "grammy";
import type { ChannelAdapter, Delivery } from "../../agent/delivery.ts";
import { splitMessage } from "./split.ts";
import type { Typing } from "./typing.ts";

/** Deliveries out through the Bot API: replies split under Telegram's limit, approvals as inline keyboards. */
export function telegramAdapter(bot: Bot, channel: string, typing: Typing): ChannelAdapter {
  /** Parts already sent per delivery key: a retried delivery sends only what is missing. */
  const sent = new Map<string, number>();
  const remember = (key: string, parts: number) => {
    sent.delete(key);
    sent.set(key, parts);
    if (sent.size > 10_000) sent.delete(sent.keys().next().value as string);
  };
  return {
    channel,
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
}
