import type { Attachment, AttachmentText } from "../blobs/types.ts";
import type { TenantScope } from "../tenancy/scope.ts";

/** What the inbound pipeline asks of media (channels/inbound/media.ts): the text of a file a person sent. */
export interface MediaPort {
  /**
   * The text of a kept file: a voice note's transcript, a document's text; null for a kind that has
   * none (a photo, a video). Throws MediaReadError: "failed" when it can never be read (the message
   * goes on with a note saying why), "unavailable" when trying again may help.
   */
  read(scope: TenantScope, a: Attachment, data: Uint8Array): Promise<AttachmentText | null>;
  /** Whether this tenant's voice notes can be transcribed (the deployment's model, or its own key). */
  hears(scope: TenantScope): Promise<boolean>;
}
