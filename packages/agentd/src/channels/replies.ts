import { formatBytes, type MediaTooLargeError } from "../blobs/local.ts";

/** What a person is told when they send something no channel reads (a sticker, a location, a contact). */
export const UNREADABLE_REPLY = "I can read text, photos, voice notes and documents, but not this kind of message.";

/** What a person is told when their file is over the limit (no turn is started for it). */
export function tooLargeReply(e: MediaTooLargeError): string {
  return `That file is too large for me (${formatBytes(e.size)}); I can take files up to ${formatBytes(e.limit)}.`;
}
