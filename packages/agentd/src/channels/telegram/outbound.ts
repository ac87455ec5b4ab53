import { type Api, type Bot, GrammyError, InputFile } from "grammy";
import type { Attachment } from "../../blobs/types.ts";
import type { TenantScope } from "../../tenancy/scope.ts";
import type { ChannelAdapter, ChannelHost, Delivery, LiveView } from "../ports.ts";
import { buttonData, DECISION_BUTTONS } from "../decisions.ts";
import { outbox } from "../outbox.ts";
import { formatReply, isParseError } from "./format.ts";
import { type LiveOptions, liveReply, placeholderKey } from "./live.ts";
import type { Typing } from "./typing.ts";

/**
 * Deliveries out through the Bot API. Every part is recorded in the outbox before and after it is
 * sent, so a delivery replayed after a crash sends only what is missing. A reply is always a new
 * message (an edit notifies no one); the run's live placeholder, if it had one, is deleted after it.
 */
export function telegramAdapter(
  host: Pick<ChannelHost, "tenants" | "blobs" | "now">,
  bot: Bot,
  liveApi: Api,
  o: {
    channel: string;
    typing: Typing;
    live: LiveOptions;
    onError: (e: unknown) => void;
  },
): ChannelAdapter {
  const views = new Map<string, LiveView>();
  const noDrafts = new Set<string>();
  const now = host.now;

  /** Sends a part with formatting, and again as plain text if Telegram can't parse the markup. */
  async function sendPart(chatId: string, part: { html: string | null; plain: string }, extra: object = {}) {
    if (part.html !== null) {
      try {
        return await bot.api.sendMessage(chatId, part.html, { parse_mode: "HTML", ...extra });
      } catch (e) {
        if (!isParseError(e)) throw e;
        o.onError(new Error(`telegram refused the formatting, sent as plain text: ${(e as Error).message}`));
      }
    }
    return await bot.api.sendMessage(chatId, part.plain, extra);
  }

  /** A file of the tenant's as a photo (the image formats Telegram shows inline), a voice note (Ogg/Opus: a spoken reply) or a document. */
  async function sendFile(tenantId: string, chatId: string, file: Attachment) {
    const blob = await host.blobs.get(tenantId, file.id);
    if (!blob) return await bot.api.sendMessage(chatId, `(the file ${file.name ?? file.id} is no longer kept)`);
    const input = new InputFile(blob.data, blob.attachment.name ?? file.id);
    if (blob.attachment.mime === "audio/ogg" && blob.data.byteLength <= MAX_VOICE_BYTES)
      return await bot.api.sendVoice(chatId, input);
    return PHOTOS.has(blob.attachment.mime) && blob.data.byteLength <= MAX_PHOTO_BYTES
      ? await bot.api.sendPhoto(chatId, input)
      : await bot.api.sendDocument(chatId, input);
  }

  return {
    channel: o.channel,
    live({ tenantId, session, runId }) {
      void views.get(runId)?.close();
      const view = liveReply(liveApi, {
        scope: host.tenants.scope(tenantId),
        channel: o.channel,
        chatId: session.conversation,
        runId,
        typing: o.typing,
        opts: o.live,
        noDrafts,
        onError: o.onError,
        now,
      });
      views.set(runId, view);
      return view;
    },
    async deliver(d: Delivery) {
      const chatId = d.session.conversation;
      const scope = host.tenants.scope(d.tenantId);
      if (d.runId) {
        await views.get(d.runId)?.close();
        views.delete(d.runId);
      }
      o.typing.stop(chatId);
      const buttons = d.kind === "approval" && d.approval ? approvalKeyboard(d.approval.id) : null;
      const parts = buttons ? [{ html: null, plain: d.text }] : formatReply(d.text);
      for (const [i, part] of parts.entries()) {
        const row = await outbox.begin(scope, { key: d.key, part: i, channel: o.channel, conversation: chatId }, now());
        if (row.status === "sent") continue;
        const extra = buttons && i === parts.length - 1 ? { reply_markup: buttons } : {};
        const msg = await sendPart(chatId, part, extra);
        await outbox.mark(scope, d.key, i, "sent", now(), String(msg.message_id));
      }
      // The reply's files, each a part of its own after the text: a photo, or else a document.
      for (const [j, file] of (d.files ?? []).entries()) {
        const i = parts.length + j;
        const row = await outbox.begin(scope, { key: d.key, part: i, channel: o.channel, conversation: chatId }, now());
        if (row.status === "sent") continue;
        const msg = await sendFile(d.tenantId, chatId, file);
        await outbox.mark(scope, d.key, i, "sent", now(), String(msg.message_id));
      }
      // A reply, or the notice that the model is unavailable, takes the place of the "…" placeholder.
      if (d.runId && d.kind !== "approval") await removePlaceholder(scope, chatId, d.runId);
    },
  };

  async function removePlaceholder(scope: TenantScope, chatId: string, runId: string) {
    const row = await outbox.get(scope, placeholderKey(runId), 0);
    if (!row?.externalId || row.status === "deleted") return;
    try {
      await bot.api.deleteMessage(chatId, Number(row.externalId));
    } catch (e) {
      // Already gone (deleted by hand, or by an earlier attempt that died before recording it).
      if (!(e instanceof GrammyError && e.error_code === 400)) throw e;
    }
    await outbox.mark(scope, placeholderKey(runId), 0, "deleted", now());
  }
}

/** What sendPhoto takes (10 MB at most); anything else goes as a document, which keeps its bytes as they are. */
const PHOTOS = new Set(["image/jpeg", "image/png", "image/webp"]);
const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
/** sendVoice plays Ogg/Opus up to 1 MB inline; larger audio goes as a document. */
const MAX_VOICE_BYTES = 1024 * 1024;

function approvalKeyboard(id: string) {
  return {
    inline_keyboard: [DECISION_BUTTONS.map((b) => ({ text: b.title, callback_data: buttonData(id, b.choice) }))],
  };
}
