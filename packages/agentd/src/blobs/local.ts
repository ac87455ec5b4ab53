import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { newId } from "../ids.ts";
import { AgentdError } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Attachment, BlobStore } from "./types.ts";

/** 20 MB: what a Telegram bot may download at most, and more than a photo or a voice note needs. */
export const DEFAULT_MAX_MEDIA_BYTES = 20 * 1024 * 1024;

/** A file larger than the limit: refused before anything is written. */
export class MediaTooLargeError extends AgentdError<"media_too_large"> {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super(
      "media_too_large",
      `the file is ${formatBytes(size)}, more than the limit of ${formatBytes(limit)} (AGENTD_MAX_MEDIA_BYTES)`,
    );
    this.size = size;
    this.limit = limit;
  }
}

/** A blob whose row exists but whose bytes are not in this machine's folder (see the class comment). */
export class BlobMissingError extends AgentdError<"blob_missing"> {
  constructor(id: string, path: string) {
    super(
      "blob_missing",
      `the bytes of ${id} are not at ${path}: the blob folder is local to one machine; with several machines on one Postgres, share the data folder's blobs/ directory between them`,
    );
  }
}

interface BlobRow {
  id: string;
  sha256: string;
  mime: string;
  size: number;
  name: string | null;
  created_at: number;
}

export function kindOf(mime: string): Attachment["kind"] {
  const top = mime.split("/")[0]?.toLowerCase();
  return top === "image" ? "image" : top === "audio" ? "audio" : top === "video" ? "video" : "document";
}

const toAttachment = (r: BlobRow): Attachment => ({
  id: r.id,
  kind: kindOf(r.mime),
  mime: r.mime,
  size: Number(r.size),
  ...(r.name ? { name: r.name } : {}),
});

/** A tenant's blobs, newest first (metadata only: the rows are the same whatever keeps the bytes). */
export async function listBlobs(scope: TenantScope, limit = 100): Promise<(Attachment & { createdAt: number })[]> {
  const rows = await scope.all<BlobRow>(
    "SELECT id, sha256, mime, size, name, created_at FROM os_blobs WHERE tenant_id = $tenant ORDER BY created_at DESC, id DESC LIMIT ?",
    [limit],
  );
  return rows.map((r) => ({ ...toAttachment(r), createdAt: Number(r.created_at) }));
}

/**
 * The default blob store: bytes in `<dataDir>/blobs/<tenant>/<sha256>` (content-addressed within a
 * tenant, so tenants never share a path), metadata in `os_blobs` through the tenant's scope.
 *
 * The folder is local to one machine. With Postgres and several machines, each sees only the files
 * it stored itself unless `blobs/` is on shared storage; an object store would be the next backend.
 */
export class LocalBlobStore implements BlobStore {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #scope: (tenantId: string) => TenantScope;
  readonly #now: () => number;

  constructor(o: { dir: string; scope: (tenantId: string) => TenantScope; maxBytes?: number; now?: () => number }) {
    this.dir = o.dir;
    this.maxBytes = o.maxBytes ?? DEFAULT_MAX_MEDIA_BYTES;
    this.#scope = o.scope;
    this.#now = o.now ?? Date.now;
  }

  async put(
    tenantId: string,
    data: Uint8Array,
    meta: { mime: string; name?: string; source?: string },
  ): Promise<Attachment> {
    if (data.byteLength > this.maxBytes) throw new MediaTooLargeError(data.byteLength, this.maxBytes);
    const sha256 = createHash("sha256").update(data).digest("hex");
    await this.#write(this.#tenantDir(tenantId), sha256, data);
    const now = this.#now();
    const row: BlobRow = {
      id: newId("blob", now),
      sha256,
      mime: meta.mime || "application/octet-stream",
      size: data.byteLength,
      name: meta.name ?? null,
      created_at: now,
    };
    await this.#scope(tenantId).run(
      "INSERT INTO os_blobs (id, tenant_id, sha256, mime, size, name, source, created_at) VALUES (?, $tenant, ?, ?, ?, ?, ?, ?)",
      [row.id, row.sha256, row.mime, row.size, row.name, meta.source ?? null, row.created_at],
    );
    return toAttachment(row);
  }

  async get(tenantId: string, id: string): Promise<{ attachment: Attachment; data: Uint8Array } | null> {
    const row = await this.#row(tenantId, id);
    if (!row) return null;
    const path = join(this.#tenantDir(tenantId), row.sha256);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new BlobMissingError(id, path);
      throw e;
    }
    return { attachment: toAttachment(row), data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }

  #row(tenantId: string, id: string): Promise<BlobRow | undefined> {
    return this.#scope(tenantId).get<BlobRow>(
      "SELECT id, sha256, mime, size, name, created_at FROM os_blobs WHERE tenant_id = $tenant AND id = ?",
      [id],
    );
  }

  #tenantDir(tenantId: string): string {
    // Tenant ids are ours (`ten_…`), but a path is built from it: refuse anything that could climb out.
    if (!/^[A-Za-z0-9_-]+$/.test(tenantId))
      throw new AgentdError("bad_request", `not a tenant id: ${JSON.stringify(tenantId.slice(0, 40))}`);
    return join(this.dir, tenantId);
  }

  /** Temp file then rename: a crash leaves the old state or the whole file, never half of one. Owner-only modes. */
  async #write(dir: string, sha256: string, data: Uint8Array): Promise<void> {
    const path = join(dir, sha256);
    if (await exists(path)) return; // same bytes stored before: content addressing shares them
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.tmp-${sha256.slice(0, 16)}-${randomBytes(6).toString("hex")}`);
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    await rename(tmp, path);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1).replace(/\.0$/, "")} MB`;
}
