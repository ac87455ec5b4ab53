/** A file a person sent (photo, voice note, document), kept in the blob store; messages carry these references. */
export interface Attachment {
  /** The blob's id (`blob_…`), scoped to its tenant. */
  id: string;
  kind: "image" | "audio" | "video" | "document";
  mime: string;
  size: number;
  /** The file name the sender gave, when there was one. */
  name?: string;
  /** Text read from the file when it came (media/), kept with the message: read once, paid for once. */
  text?: AttachmentText;
}

/** A voice note's transcript or a document's text; `error` instead when it could not be read (and why). */
export interface AttachmentText {
  kind: "transcript" | "document";
  content: string;
  /** What was cut (pages, characters), for the model to know and say. */
  cut?: string;
  error?: string;
}

/** Where media bytes live. The default keeps them in a local folder under the data directory. */
export interface BlobStore {
  /** Stores bytes for a tenant; the same bytes stored twice may share storage but get their own id. */
  put(tenantId: string, data: Uint8Array, meta: { mime: string; name?: string; source?: string }): Promise<Attachment>;
  /** The bytes and metadata of a tenant's blob; null when the id is unknown to that tenant. */
  get(tenantId: string, id: string): Promise<{ attachment: Attachment; data: Uint8Array } | null>;
}
