import type { FilePart, ModelMessage, TextPart } from "ai";
import type { Attachment, BlobStore } from "../blobs/types.ts";
import { type HistoryItem, mediaNote, withNotes } from "./prompt.ts";

/** Images of only this many most recent user messages are sent as images; older ones stay notes, to bound each request. */
export const INLINE_IMAGE_MESSAGES = 4;

/** The image formats multimodal chat models take; anything else (HEIC, SVG, …) stays a note. */
const MODEL_IMAGES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

const inlinable = (a: Attachment) => a.kind === "image" && MODEL_IMAGES.has(a.mime.toLowerCase());

/**
 * `messages` with the images of recent user messages put in as image parts, their bytes read from
 * the blob store now. Call it inside the model step: the bytes then live for one call and never in
 * the journal (the turn's context holds references only). `messages` must begin with
 * `historyMessages(history)`, one message per history item, as the turn builds them; later ones
 * (tool calls and results) pass through unchanged. A blob that can't be read stays a note saying so.
 */
export async function withMedia(
  messages: ModelMessage[],
  history: HistoryItem[],
  blobs: BlobStore,
  tenantId: string,
): Promise<ModelMessage[]> {
  const chosen = recentImageMessages(history);
  if (chosen.size === 0) return messages;
  const out = messages.slice();
  for (const i of chosen) {
    const m = history[i] as HistoryItem;
    if (out[i]?.role !== "user") continue; // not the layout this function expects: leave the notes
    const attachments = m.attachments ?? [];
    const notes: Attachment[] = [];
    const images: FilePart[] = [];
    const unreadable: string[] = [];
    for (const a of attachments) {
      if (!inlinable(a)) {
        notes.push(a);
        continue;
      }
      const blob = await blobs.get(tenantId, a.id).catch(() => null);
      if (blob) images.push({ type: "file", mediaType: blob.attachment.mime, data: { type: "data", data: blob.data } });
      else unreadable.push(mediaNote(a, "unavailable"));
    }
    const text = [withNotes(m.content, notes), ...unreadable].filter(Boolean).join("\n");
    const parts: (TextPart | FilePart)[] = [...(text ? [{ type: "text" as const, text }] : []), ...images];
    out[i] = { role: "user", content: parts };
  }
  return out;
}

/** Indexes of the last INLINE_IMAGE_MESSAGES user messages that carry an image a model can take. */
function recentImageMessages(history: HistoryItem[]): Set<number> {
  const chosen = new Set<number>();
  let users = 0;
  for (let i = history.length - 1; i >= 0 && users < INLINE_IMAGE_MESSAGES; i--) {
    const m = history[i] as HistoryItem;
    if (m.role !== "user") continue;
    users++;
    if (m.attachments?.some(inlinable)) chosen.add(i);
  }
  return chosen;
}
