import { MediaTooLargeError } from "../../blobs/local.ts";
import { MediaFetchError } from "../media-error.ts";
import { tooLargeReply } from "../replies.ts";
import type { InboundResult } from "./message.ts";
import { PAIRING } from "../../sessions/inbox.ts";
import type { InboundContext } from "./context.ts";

/**
 * The files of a paired sender's message, fetched within the limit and kept in the blob store,
 * before the message is persisted. Too large: the person is told, and no turn starts. A file that
 * can never be fetched: the message goes on with a note saying so. Any other failure throws, so
 * the provider delivers the message again.
 */
export async function keepFiles(c: InboundContext): Promise<InboundResult | null> {
  if (!c.tenantId || c.stored || !c.m.files.length || PAIRING.test(c.m.text)) return null;
  for (const [i, file] of c.m.files.entries()) {
    try {
      const got = await file.fetch(c.limit);
      c.attachments.push(
        await c.host.blobs.put(c.tenantId, got.data, {
          mime: got.mime,
          ...(got.name ? { name: got.name } : {}),
          source: c.m.sourceKey,
        }),
      );
    } catch (e) {
      if (MediaTooLargeError.is(e)) return { kind: "reply", tenantId: c.tenantId, text: tooLargeReply(e) };
      if (!(MediaFetchError.is(e) && e.permanent)) throw e;
      c.o.log(`file ${i + 1} of ${c.m.sourceKey} was not kept: ${e.message}`);
      c.notes.push(`[an attachment was not kept: ${e.message}]`);
    }
  }
  return null;
}
