import type { Bot, Context, Filter } from "grammy";
import type { InboundHost } from "../inbound/context.ts";
import type { InboundMedia, InboundMessage, InboundResult } from "../inbound/message.ts";
import { inboundPipeline } from "../inbound/pipeline.ts";
import { downloadMedia, mediaOf, TELEGRAM_API_ROOT, TelegramMediaError } from "./media.ts";
import type { Typing } from "./typing.ts";

export interface InboundDeps {
  host: InboundHost;
  /** The channel name identities and sessions are filed under ("telegram", or a tenant bot's own). */
  channel: string;
  typing: Typing;
  onError: (e: unknown) => void;
  /** The Bot API root files are downloaded from (the same as the API's; Telegram's by default). */
  apiRoot?: string | undefined;
}

const MEDIA: [
  "message:photo",
  "message:voice",
  "message:audio",
  "message:document",
  "message:video",
  "message:video_note",
] = ["message:photo", "message:voice", "message:audio", "message:document", "message:video", "message:video_note"];

/**
 * Telegram's updates as inbound messages (see ../inbound/): texts; photos, voice notes, audio,
 * documents and videos with their captions; anything else (stickers, locations, …) as a message
 * with nothing to read; presses of approval buttons. Each is handled before its update is
 * acknowledged: a failure throws, and Telegram delivers the update again.
 */
export function handleInbound(bot: Bot, { host, channel, typing, onError, apiRoot }: InboundDeps): void {
  const pipeline = inboundPipeline(host, { log: (line) => onError(new TelegramMediaError(line, true)) });
  const messageOf = (ctx: Filter<Context, "message">, text: string, files: InboundMedia[]): InboundMessage => ({
    channel,
    sender: String(ctx.from.id),
    conversation: String(ctx.chat.id),
    sourceKey: `tg:${ctx.update.update_id}`,
    text,
    files,
    ...(ctx.from.username ? { display: ctx.from.username } : {}),
  });
  /** The result as Telegram replies: the typing indicator for a new turn, or a message in the chat. */
  const answer = (ctx: Filter<Context, "message">) => async (r: InboundResult) => {
    if (r.kind === "turn") {
      if (r.started) typing.once(String(ctx.chat.id));
    } else if (r.kind === "reply") await ctx.reply(r.text).catch(onError);
  };

  bot.on("message:text", (ctx) => pipeline.handle(messageOf(ctx, ctx.message.text, []), answer(ctx)));

  // The file is fetched from the Bot API only when the pipeline keeps it (a paired sender, not a redelivery).
  bot.on(MEDIA, async (ctx) => {
    const message = ctx.message;
    const file: InboundMedia = {
      async fetch(limit) {
        const media = mediaOf(message, limit);
        if (!media) throw new TelegramMediaError("Telegram described no file in the message", true);
        const data = await downloadMedia(bot, apiRoot ?? TELEGRAM_API_ROOT, media, limit);
        return { data, mime: media.mime, ...(media.name ? { name: media.name } : {}) };
      },
    };
    await pipeline.handle(messageOf(ctx, message.caption ?? "", [file]), answer(ctx));
  });

  // Stickers, locations, contacts, …: nothing to read, which the person is told.
  bot.on("message", (ctx) => pipeline.handle(messageOf(ctx, "", []), answer(ctx)));

  bot.on("callback_query:data", async (ctx) => {
    const chat = String(ctx.callbackQuery.message?.chat.id ?? ctx.from.id);
    const m = {
      channel,
      sender: String(ctx.from.id),
      conversation: chat,
      sourceKey: `tg:${ctx.update.update_id}`,
      text: "",
      files: [],
      button: ctx.callbackQuery.data,
    };
    await pipeline.handle(m, async (r) => {
      if (r.kind !== "button") return;
      await ctx.answerCallbackQuery({ text: r.text.slice(0, 200) }).catch(onError);
      if (!r.decided) return;
      // The buttons go away and the message says what was decided (best effort: the decision stands).
      const msg = ctx.callbackQuery.message;
      if (msg && "text" in msg && msg.text) await ctx.editMessageText(`${msg.text}\n\n${r.text}`).catch(onError);
    });
  });
}
