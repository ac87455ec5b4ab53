import { constants } from "node:fs";
import { open, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { Attachment, BlobStore } from "../../blobs/types.ts";
import { formatBytes } from "../../blobs/local.ts";
import { changedFiles, type FileState } from "../../sandbox/workspace.ts";

/** At most this many files of one run are returned (the newest names first would be arbitrary: path order). */
export const MAX_FILES_OUT = 10;

/** What code commonly writes, by extension; anything else is bytes. */
const TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  pdf: "application/pdf",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  json: "application/json",
  txt: "text/plain",
  md: "text/markdown",
  html: "text/html",
  xml: "application/xml",
  zip: "application/zip",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  mp4: "video/mp4",
};

export const typeOf = (path: string): string =>
  TYPES[/\.([a-z0-9]{1,5})$/i.exec(path)?.[1]?.toLowerCase() ?? ""] ?? "application/octet-stream";

/** A file the code produced, kept as a blob of the tenant's. */
export interface FileOut {
  /** Its path in the workspace. */
  path: string;
  blob: string;
  mime: string;
  size: number;
  /** The blob as the files-out path takes it (tools/files.ts). */
  attachment: Attachment;
}

/**
 * The files a run created or changed, stored as the tenant's blobs (at most MAX_FILES_OUT, each at
 * most the blob store's limit); `skipped` says what was left out and why, for the model to tell.
 */
export async function keepFiles(
  tenantId: string,
  workspace: string,
  before: Map<string, FileState>,
  after: Map<string, FileState>,
  blobs: BlobStore,
  maxBytes: number,
): Promise<{ files: FileOut[]; skipped: string[] }> {
  const files: FileOut[] = [];
  const skipped: string[] = [];
  for (const path of changedFiles(before, after)) {
    const size = after.get(path)?.size ?? 0;
    if (files.length >= MAX_FILES_OUT) skipped.push(`${path} (more than ${MAX_FILES_OUT} files changed)`);
    else if (size > maxBytes) skipped.push(`${path} (${formatBytes(size)}, over the ${formatBytes(maxBytes)} limit)`);
    else if (size === 0) skipped.push(`${path} (empty)`);
    else {
      const data = await readInside(workspace, path, maxBytes);
      if (!data) continue; // deleted or replaced since the scan
      const mime = typeOf(path);
      const a = await blobs.put(tenantId, data, { mime, name: path.split("/").at(-1) as string, source: "run_code" });
      files.push({ path, blob: a.id, mime, size: data.byteLength, attachment: a });
    }
  }
  return { files, skipped };
}

/**
 * The bytes of a workspace file, only if it is a regular file inside the workspace right now. Code of
 * the same tenant running meanwhile could swap the path for a symlink to a file of the machine's
 * (agentd may be root): the last part is opened without following links, and where the open file
 * really is is read back from /proc, so a swapped folder above it is caught too.
 */
async function readInside(workspace: string, path: string, maxBytes: number): Promise<Buffer | null> {
  let fh: import("node:fs/promises").FileHandle;
  try {
    fh = await open(join(workspace, path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > maxBytes) return null;
    const real = await readlink(`/proc/self/fd/${fh.fd}`);
    if (!real.startsWith(`${workspace}/`)) return null;
    return await fh.readFile();
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}
