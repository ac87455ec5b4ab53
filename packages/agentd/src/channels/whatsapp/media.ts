import { createHash } from "node:crypto";
import type { WhatsAppAPI } from "whatsapp-api-js";
import { MediaTooLargeError } from "../../blobs/local.ts";
import { MediaFetchError } from "../media-error.ts";
import type { WhatsAppMedia, WhatsAppMessage } from "./payload.ts";

/**
 * Inbound media on the Cloud API: the webhook names a media id; the Graph API turns it into a
 * short-lived URL (on Meta's CDN) that needs the access token. The token goes only to Meta's hosts
 * (or to the configured stand-in), never to whatever host an answer might name.
 */
const META_HOSTS = [/(^|\.)fbsbx\.com$/, /(^|\.)fbcdn\.net$/, /(^|\.)whatsapp\.net$/, /(^|\.)facebook\.com$/];
const MAX_REDIRECTS = 3;

/** A WhatsApp file that will not be fetched or kept (see MediaFetchError). */
export class WhatsAppMediaError extends MediaFetchError {}

/** The file a message carries, with the mime type and name to keep it under; null for none. */
export function mediaOf(m: WhatsAppMessage): { media: WhatsAppMedia; mime: string; name?: string } | null {
  if (m.type === "image" && m.image) return { media: m.image, mime: m.image.mime_type ?? "image/jpeg" };
  if (m.type === "audio" && m.audio)
    return {
      media: m.audio,
      mime: m.audio.mime_type?.split(";")[0]?.trim() ?? "audio/ogg",
      ...(m.audio.voice ? { name: "voice-note.ogg" } : {}),
    };
  if (m.type === "video" && m.video) return { media: m.video, mime: m.video.mime_type ?? "video/mp4" };
  if (m.type === "document" && m.document)
    return {
      media: m.document,
      mime: m.document.mime_type ?? "application/octet-stream",
      ...(m.document.filename ? { name: m.document.filename } : {}),
    };
  return null;
}

export interface DownloadOptions {
  phoneNumberId: string;
  limit: number;
  /** The stand-in's origin in tests: media URLs there are fetched too. */
  apiBaseUrl?: string;
}

/**
 * The file's bytes, checked against the size limit (before and while reading) and against the
 * sha256 Meta gave. A MediaTooLargeError or a permanent WhatsAppMediaError: retrying can't help.
 * Anything else throws, so the webhook is not acknowledged and Meta delivers it again.
 */
export async function downloadMedia(
  client: WhatsAppAPI,
  media: WhatsAppMedia,
  o: DownloadOptions,
): Promise<Uint8Array> {
  const meta = (await client.retrieveMedia(media.id, o.phoneNumberId)) as {
    url?: string;
    file_size?: string | number;
    sha256?: string;
  };
  const declared = Number(meta.file_size);
  if (declared > o.limit) throw new MediaTooLargeError(declared, o.limit);
  if (!meta.url) throw new WhatsAppMediaError("the Graph API gave no URL for the media", false);
  const expected = meta.sha256 ?? media.sha256;
  // A download that does not match its hash is tried once more at once; twice wrong, the file is dropped
  // (retrying the webhook for days would only fetch it wrong again).
  for (let attempt = 1; ; attempt++) {
    const data = await fetchBytes(client, meta.url, o);
    if (!expected || matches(data, expected)) return data;
    if (attempt === 2) throw new WhatsAppMediaError("the file's sha256 does not match what Meta announced", true);
  }
}

/** The bytes at a media URL: the token goes along only to Meta's hosts, redirects are followed by hand and checked the same way. */
async function fetchBytes(client: WhatsAppAPI, raw: string, o: DownloadOptions): Promise<Uint8Array> {
  let url = metaUrl(raw, o);
  let res: Response;
  for (let hop = 0; ; hop++) {
    res = await client.fetchMedia(url.href);
    if (res.status < 300 || res.status >= 400) break;
    await res.body?.cancel();
    const location = res.headers.get("location");
    if (!location || hop >= MAX_REDIRECTS)
      throw new WhatsAppMediaError(`the media URL redirected ${hop + 1} times`, true);
    url = metaUrl(new URL(location, url).href, o);
  }
  if (!res.body) throw new WhatsAppMediaError("the media download had no body", false);
  const length = Number(res.headers.get("content-length") ?? Number.NaN);
  if (length > o.limit) {
    await res.body.cancel().catch(() => {});
    throw new MediaTooLargeError(length, o.limit);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > o.limit) throw new MediaTooLargeError(total, o.limit); // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A URL the token may go to: https on one of Meta's hosts, or the configured stand-in. */
function metaUrl(raw: string, o: DownloadOptions): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WhatsAppMediaError("the Graph API gave a media URL that is not a URL", true);
  }
  const stand = o.apiBaseUrl ? new URL(o.apiBaseUrl).origin : null;
  if (url.origin !== stand && !(url.protocol === "https:" && META_HOSTS.some((h) => h.test(url.hostname))))
    throw new WhatsAppMediaError(`media is fetched from Meta's hosts only, not ${url.hostname}`, true);
  return url;
}

/** Meta gives the hash as hex (the media endpoint) or base64 (some webhooks): either must match. */
function matches(data: Uint8Array, expected: string): boolean {
  const h = createHash("sha256").update(data);
  const hex = h.copy().digest("hex");
  return expected === hex || expected === h.digest("base64");
}
