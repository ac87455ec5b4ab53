export type { Attachment, BlobStore } from "./types.ts";
export {
  BlobMissingError,
  DEFAULT_MAX_MEDIA_BYTES,
  formatBytes,
  kindOf,
  listBlobs,
  LocalBlobStore,
  MediaTooLargeError,
} from "./local.ts";
