import type { WhatsAppAPI } from "whatsapp-api-js";
import { Audio, Document, Image, Text } from "whatsapp-api-js/messages";
import type { ClientMessage } from "whatsapp-api-js/types";
import type { Attachment } from "../../blobs/types.ts";
import type { ChannelHost } from "../ports.ts";

/** What the Cloud API shows as a photo; other types it takes go as documents (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types). */
const IMAGES = new Set(["image/jpeg", "image/png"]);
const DOCUMENTS = new Set([
  "text/plain",
  "application/pdf",
  "application/vnd.ms-powerpoint",
  "application/msword",
  "application/vnd.ms-excel",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
]);
/** Audio it plays; Ogg/Opus is sent as a voice note (a spoken reply, media/speech.ts). */
const AUDIO = new Set(["audio/ogg", "audio/mpeg", "audio/aac", "audio/mp4", "audio/amr"]);
/** The Cloud API's limits: 5 MB for an image, 16 MB for audio, 100 MB for a document. */
const MAX_IMAGE = 5_000_000;
const MAX_AUDIO = 16_000_000;
const MAX_DOCUMENT = 100_000_000;

/** A message built when its part is sent (a file is uploaded only then, so a part already sent uploads nothing). */
export type LazyMessage = ClientMessage | (() => Promise<ClientMessage>);

/**
 * A reply's files as Cloud API messages, one each: uploaded to the phone number's media (the bytes
 * read from the blob store when the part is sent), then sent by media id as an image, audio (a voice
 * note when Ogg) or a document.
 * A file the Cloud API does not take (its type or size) is a line of text saying so, not a failure.
 */
export function fileMessages(
  o: { client: WhatsAppAPI; phoneNumberId: string; blobs: ChannelHost["blobs"] },
  tenantId: string,
  files: Attachment[],
): LazyMessage[] {
  return files.map((f) => async () => {
    const name = f.name ?? f.id;
    const image = IMAGES.has(f.mime) && f.size <= MAX_IMAGE;
    const audio = AUDIO.has(f.mime) && f.size <= MAX_AUDIO;
    if (!image && !audio && !(DOCUMENTS.has(f.mime) && f.size <= MAX_DOCUMENT))
      return new Text(`(${name}, ${f.mime}, cannot be sent on WhatsApp)`);
    const blob = await o.blobs.get(tenantId, f.id);
    if (!blob) return new Text(`(${name} is no longer kept)`);
    const form = new FormData();
    form.append("messaging_product", "whatsapp");
    form.append("type", f.mime);
    form.append("file", new Blob([blob.data as Uint8Array<ArrayBuffer>], { type: f.mime }), name);
    const res = await o.client.uploadMedia(o.phoneNumberId, form, false);
    if (!("id" in res)) throw new Error("the Cloud API took the file but gave no media id");
    if (audio) return new Audio(res.id, true, f.mime === "audio/ogg");
    return image ? new Image(res.id, true) : new Document(res.id, true, undefined, name);
  });
}
