import { createHmac, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import type { Attachment } from "../../blobs/types.ts";
import type { ChannelHost } from "../ports.ts";
import { errorBody } from "../../api/errors.ts";

/** How long a file's link works: Twilio fetches it when it sends the message, within seconds. */
const LINK_MS = 60 * 60_000;

const sign = (authToken: string, tenantId: string, blobId: string, exp: number) =>
  createHmac("sha256", authToken).update(`${tenantId}/${blobId}/${exp}`).digest("base64url");

/**
 * The URL Twilio fetches a reply's file from (MMS, WhatsApp media): under the channel's public URL,
 * signed with the account's auth token and expiring within the hour, since Twilio sends no credential
 * when it fetches media.
 */
export function mediaLink(base: string, authToken: string, tenantId: string, file: Attachment, now: number): string {
  const exp = now + LINK_MS;
  const q = new URLSearchParams({ exp: String(exp), sig: sign(authToken, tenantId, file.id, exp) });
  return `${base}/media/${encodeURIComponent(tenantId)}/${encodeURIComponent(file.id)}?${q}`;
}

/** Serves a file a signed link names, while the link is valid; anything else is 404, as if there were no such file. */
export function serveMedia(host: Pick<ChannelHost, "blobs" | "now">, authToken: string) {
  return async (c: Context) => {
    const tenantId = c.req.param("tenant") ?? "";
    const blobId = c.req.param("blob") ?? "";
    const exp = Number(c.req.query("exp"));
    const given = Buffer.from(c.req.query("sig") ?? "");
    const want = Buffer.from(sign(authToken, tenantId, blobId, exp));
    const valid =
      Number.isFinite(exp) && exp > host.now() && given.length === want.length && timingSafeEqual(given, want);
    const blob = valid ? await host.blobs.get(tenantId, blobId) : null;
    if (!blob) return c.json(errorBody("not_found", "no such file, or its link has expired"), 404);
    return c.body(blob.data as Uint8Array<ArrayBuffer>, 200, {
      "content-type": blob.attachment.mime,
      "content-length": String(blob.data.byteLength),
      "cache-control": "private, no-store",
      "x-content-type-options": "nosniff",
      "content-security-policy": "sandbox",
    });
  };
}
