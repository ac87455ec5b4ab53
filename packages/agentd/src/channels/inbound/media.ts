import { readAttachments } from "../../media/attachments.ts";
import { CANNOT_HEAR_REPLY } from "../../media/reader.ts";
import type { InboundContext } from "./context.ts";
import type { InboundResult } from "./message.ts";

/**
 * The text of what a person sent, read before the message is stored (after keepFiles): voice notes
 * transcribed, documents read, kept with the message's attachments so a replay, the history and the
 * dashboard find them without reading (or paying) again. A voice note alone that nothing here can
 * hear gets a plain answer and no turn; a file that cannot be read goes on with the reason.
 * Throws when trying again may help (the transcription server down): the provider delivers again,
 * and a transcript already paid for is found by the audio's hash.
 */
export async function readMedia(c: InboundContext): Promise<InboundResult | null> {
  const media = c.host.media;
  if (!media || !c.scope || c.stored || !c.attachments.length) return null;
  const onlyAudio = !c.m.text.trim() && c.attachments.every((a) => a.kind === "audio");
  if (onlyAudio && !(await media.hears(c.scope)))
    return { kind: "reply", tenantId: c.tenantId, text: CANNOT_HEAR_REPLY };
  const read = await readAttachments(media, c.host.blobs, c.scope, c.attachments, (line) =>
    c.o.log(`${line} (${c.m.sourceKey})`),
  );
  c.attachments = read;
  return null;
}
