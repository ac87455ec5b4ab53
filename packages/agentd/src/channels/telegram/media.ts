import { type Bot, GrammyError } from "grammy";
import type { Message } from "grammy/types";
import { MediaTooLargeError } from "../../blobs/local.ts";
import { MediaFetchError } from "../media-error.ts";

/** Telegram's Bot API root, where files are downloaded from unless another is configured. */
export const TELEGRAM_API_ROOT = "https://api.telegram.org";

/** A Telegram file that will not be fetched or kept (see MediaFetchError). */
export class TelegramMediaError extends MediaFetchError {}

/** A file in a message, as Telegram describes it before it is downloaded. */
export interface TelegramMedia {
  fileId: string;
  /** Telegram's size when it gives one (it usually does); checked again while downloading. */
  size: number | undefined;
  mime: string;
  name?: string;
}

/**
 * The file a message carries, or null for none. Photos come in several sizes: the largest within
 * `limit` is taken (the smallest when none fits, so that the size check can say it's too big).
 */
export function mediaOf(m: Message, limit: number): TelegramMedia | null {
  if (m.photo && m.photo.length > 0) {
    const sizes = [...m.photo].sort((a, b) => (a.file_size ?? 0) - (b.file_size ?? 0));
    const fits = sizes.filter((p) => p.file_size === undefined || p.file_size <= limit);
    const p = fits.at(-1) ?? sizes[0]!;
    return { fileId: p.file_id, size: p.file_size, mime: "image/jpeg" }; // Telegram re-encodes photos as JPEG
  }
  if (m.voice)
    return {
      fileId: m.voice.file_id,
      size: m.voice.file_size,
      mime: m.voice.mime_type ?? "audio/ogg",
      name: "voice-note.ogg",
    };
  if (m.audio)
    return withName(
      { fileId: m.audio.file_id, size: m.audio.file_size, mime: m.audio.mime_type ?? "audio/mpeg" },
      m.audio.file_name,
    );
  if (m.video)
    return withName(
      { fileId: m.video.file_id, size: m.video.file_size, mime: m.video.mime_type ?? "video/mp4" },
      m.video.file_name,
    );
  if (m.video_note)
    return { fileId: m.video_note.file_id, size: m.video_note.file_size, mime: "video/mp4", name: "video-note.mp4" };
  if (m.document)
    return withName(
      {
        fileId: m.document.file_id,
        size: m.document.file_size,
        mime: m.document.mime_type ?? "application/octet-stream",
      },
      m.document.file_name,
    );
  return null;
}

const withName = (m: TelegramMedia, name: string | undefined): TelegramMedia => (name ? { ...m, name } : m);

/**
 * The file's bytes: `getFile` for its path, then a GET from the same API root as the Bot API.
 * More than `limit` bytes is a MediaTooLargeError (also when Telegram's size was missing or wrong);
 * a file Telegram will never give is a permanent TelegramMediaError; any other failure throws, so
 * the update is not acknowledged and Telegram delivers it again.
 */
export async function downloadMedia(
  bot: Bot,
  apiRoot: string,
  media: TelegramMedia,
  limit: number,
  timeoutMs = 60_000,
): Promise<Uint8Array> {
  if (media.size !== undefined && media.size > limit) throw new MediaTooLargeError(media.size, limit);
  let path: string | undefined;
  try {
    path = (await bot.api.getFile(media.fileId)).file_path;
  } catch (e) {
    // Telegram lets bots download 20 MB at most and says so this way.
    if (e instanceof GrammyError && /file is too big/i.test(e.description))
      throw new MediaTooLargeError(media.size ?? limit + 1, limit);
    // Telegram will never hand this file out (expired, invalid id): asking again would hold up every later update.
    if (e instanceof GrammyError && e.error_code >= 400 && e.error_code < 500 && e.error_code !== 429)
      throw new TelegramMediaError(`Telegram refused the file (${e.description})`, true);
    throw e;
  }
  if (!path) throw new Error(`Telegram gave no file_path for file ${media.fileId}; it can't be downloaded now`);
  // The URL holds the bot token: it never goes into an error message.
  const res = await fetch(`${apiRoot.replace(/\/+$/, "")}/file/bot${bot.token}/${path}`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status === 404 || res.status === 403)
    throw new TelegramMediaError(`the file is no longer on Telegram's servers (HTTP ${res.status})`, true);
  if (!res.ok || !res.body)
    throw new Error(`downloading a Telegram file failed (HTTP ${res.status}); the update will be delivered again`);
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    await res.body.cancel().catch(() => {});
    throw new MediaTooLargeError(declared, limit);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > limit) throw new MediaTooLargeError(total, limit); // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
