import type { Attachment, BlobStore } from "../blobs/types.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { MediaReadError } from "./errors.ts";
import type { MediaPort } from "./port.ts";

/**
 * The text of the files a message carries, read once before the message is stored: voice notes
 * transcribed, documents read, each kept on its attachment (`text`) so the history, the dashboard and
 * a replay find it without reading (or paying) again. A file that can never be read goes on with the
 * reason (`text.error`), which the model reads; throws MediaReadError("unavailable") when trying again
 * may help (the transcription server down), and a transcript already paid for is found by the audio's
 * hash the next time. The channels' inbound stage (channels/inbound/media.ts) and the API's messages
 * (api/accept.ts) both read through here.
 */
export async function readAttachments(
  media: MediaPort,
  blobs: Pick<BlobStore, "get">,
  scope: TenantScope,
  attachments: Attachment[],
  log: (line: string) => void,
): Promise<Attachment[]> {
  const read: Attachment[] = [];
  for (const a of attachments) {
    const blob = a.text ? null : await blobs.get(scope.tenantId, a.id);
    if (!blob) {
      read.push(a);
      continue;
    }
    try {
      const text = await media.read(scope, a, blob.data);
      read.push(text ? { ...a, text } : a);
    } catch (e) {
      if (!(MediaReadError.is(e) && e.permanent)) throw e;
      log(`${a.id} was not read: ${e.message}`);
      read.push({
        ...a,
        text: { kind: a.kind === "audio" ? "transcript" : "document", content: "", error: e.message },
      });
    }
  }
  return read;
}
