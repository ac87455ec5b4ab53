import type { Bot, Context, Filter } from "grammy";
import type { ChannelHost } from "../ports.ts";
import { MediaTooLargeError } from "../../blobs/local.ts";
import { MediaFetchError } from "../media-error.ts";
import { UNPAIRED_REPLY } from "../../sessions/inbox.ts";
import { sessions } from "../../sessions/store.ts";
import { tooLargeReply, UNREADABLE_REPLY } from "../replies.ts";
import { downloadMedia, mediaOf, TELEGRAM_API_ROOT } from "./media.ts";
import type { Typing } from "./typing.ts";

export interface InboundDeps {
  host: Pick<ChannelHost, "inbox" | "decisions" | "tenants" | "blobs">;
  /** The channel name identities and sessions are filed under ("telegram", or a tenant bot's own). */
  channel: string;
  typing: Typing;
  onError: (e: unknown) => void;
  /** The Bot API root files are downloaded from (the same as the API's; Telegram's by default). */
  apiRoot?: string | undefined;
}

const MEDIA: ["message:photo", "message:voice", "message:audio", "message:document", "message:video", "message:video_note"] =
  ["message:photo", "message:voice", "message:audio", "message:document", "message:video", "message:video_note"];

/** Messages into the inbox (persisted before the update is acknowledged), pairing, approval buttons. */
export function handleInbound(bot: Bot, { host, channel, typing, onError, apiRoot }: InboundDeps): void {
  bot.on("message:text", async (ctx) => {
    const from = ctx.from;
    const text = ctx.message.text;
    const out = await host.inbox.fromIdentity({
      channel, externalId: String(from.id), conversation: String(ctx.chat.id), text,
      sourceKey: `tg:${ctx.update.update_id}`, ...(from.username ? { display: from.username } : {}),
    });
    // The message is persisted (or needed no persisting): what follows may fail without losing it.
    if (out.kind === "turn") {
      if (!out.received.duplicate) typing.once(String(ctx.chat.id));
      return;
    }
    await ctx.reply(out.reply).catch(onError);
  });

  // Photos, voice notes, audio, documents, videos: into the blob store, then into the inbox with the
  // caption as text. Downloaded before the message is persisted, and both before the update is
  // acknowledged: a failed download throws, and Telegram delivers the update again.
  // A redelivery arriving while the first attempt still downloads waits for it (in this process),
  // then finds the stored message instead of downloading and storing the file a second time.
  const inFlight = new Map<string, Promise<unknown>>();
  bot.on(MEDIA, async (ctx) => {
    const sourceKey = `tg:${ctx.update.update_id}`;
    const prior = inFlight.get(sourceKey);
    if (prior) await prior.catch(() => {});
    const attempt = handleMedia(ctx, sourceKey);
    inFlight.set(sourceKey, attempt);
    try {
      await attempt;
    } finally {
      if (inFlight.get(sourceKey) === attempt) inFlight.delete(sourceKey);
    }
  });

  async function handleMedia(ctx: Filter<Context, (typeof MEDIA)[number]>, sourceKey: string): Promise<void> {
    const from = ctx.from;
    const conversation = String(ctx.chat.id);
    const identity = {
      channel, externalId: String(from.id), conversation, text: ctx.message.caption ?? "", sourceKey,
      ...(from.username ? { display: from.username } : {}),
    };
    const tenantId = await host.tenants.tenantOf(channel, String(from.id));
    // Someone unknown: instructions (or a pairing by caption), and their file is never fetched.
    if (!tenantId) {
      const out = await host.inbox.fromIdentity(identity);
      if (out.kind !== "turn") await ctx.reply(out.reply).catch(onError);
      return;
    }
    const scope = host.tenants.scope(tenantId);
    const session = await sessions.find(scope, channel, conversation);
    const seen = session ? await sessions.bySource(scope, session.id, sourceKey) : null;
    let attachments = seen?.attachments ?? [];
    let note = "";
    if (!seen) {
      const limit = host.blobs.maxBytes;
      const media = mediaOf(ctx.message, limit);
      if (!media) return; // the filter guarantees one; nothing to store otherwise
      try {
        const data = await downloadMedia(bot, apiRoot ?? TELEGRAM_API_ROOT, media, limit);
        attachments = [await host.blobs.put(tenantId, data, { mime: media.mime, ...(media.name ? { name: media.name } : {}), source: sourceKey })];
      } catch (e) {
        // Retrying can't help: too large is said and acknowledged without a turn; a file Telegram
        // won't give is noted in the message, which goes on without it.
        if (MediaTooLargeError.is(e)) return void (await ctx.reply(tooLargeReply(e)).catch(onError));
        if (!(MediaFetchError.is(e) && e.permanent)) throw e;
        onError(e);
        note = `\n[an attachment was not kept: ${e.message}]`;
      }
    }
    // A redelivery finds its message (and blob) already stored: no second download, blob or turn.
    const out = await host.inbox.fromIdentity({ ...identity, text: identity.text + note, attachments });
    if (out.kind === "turn") {
      if (!out.received.duplicate) typing.once(conversation);
      return;
    }
    await ctx.reply(out.reply).catch(onError);
  }

  // Stickers, locations, contacts, …: not read, and said so rather than ignored.
  bot.on("message", async (ctx) => {
    const known = await host.tenants.tenantOf(channel, String(ctx.from.id));
    await ctx.reply(known ? UNREADABLE_REPLY : UNPAIRED_REPLY).catch(onError);
  });

  bot.on("callback_query:data", async (ctx) => {
    const tenantId = await host.tenants.tenantOf(channel, String(ctx.from.id));
    const chat = ctx.callbackQuery.message?.chat.id ?? ctx.from.id;
    const { decided, text } = await host.decisions.byButton(tenantId, ctx.callbackQuery.data, `telegram:${ctx.from.id}`, { channel, conversation: String(chat) });
    await ctx.answerCallbackQuery({ text: text.slice(0, 200) }).catch(onError);
    if (!decided) return;
    // The buttons go away and the message says what was decided (best effort: the decision stands).
    const msg = ctx.callbackQuery.message;
    if (msg && "text" in msg && msg.text) await ctx.editMessageText(`${msg.text}\n\n${text}`).catch(onError);
  });
}
