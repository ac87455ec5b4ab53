/**
 * Inbound media (MMS, WhatsApp photos and voice notes): Twilio's webhook names each file by a URL on
 * api.twilio.com that needs the account's Basic auth and usually redirects to a short-lived signed
 * URL on another host. The credentials go to Twilio's API origin only, never to a redirect target
 * and never to a URL the webhook names on any other host (a forged or misconfigured MediaUrl must not
 * become a credential leak or a request to an internal address).
 */
import { DEFAULT_MAX_MEDIA_BYTES, MediaTooLargeError } from "../../blobs/index.ts";
import { MediaFetchError } from "../media-error.ts";

const TWILIO_API = "https://api.twilio.com";
const MAX_REDIRECTS = 3;

/** A Twilio file that will not be fetched or kept (see MediaFetchError). */
export class TwilioMediaError extends MediaFetchError {}

export interface MediaOptions {
  accountSid: string;
  authToken: string;
  /** The origin the API client is pointed at (a stand-in in tests): media URLs on api.twilio.com are fetched there. */
  apiBaseUrl?: string;
  maxBytes?: number;
  timeoutMs?: number;
}

/**
 * The URL to fetch for a MediaUrl from the webhook: only Twilio's API origin (https), only under this
 * account's path; rebased like the REST client when `apiBaseUrl` is set.
 */
export function mediaUrl(raw: string, o: Pick<MediaOptions, "accountSid" | "apiBaseUrl">): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new TwilioMediaError("the media URL is not a URL", true);
  }
  const base = o.apiBaseUrl ? new URL(o.apiBaseUrl) : null;
  if (u.origin !== TWILIO_API && u.origin !== base?.origin)
    throw new TwilioMediaError(`media is fetched from ${TWILIO_API} only, not ${u.origin}`, true);
  if (!u.pathname.startsWith(`/2010-04-01/Accounts/${o.accountSid}/`))
    throw new TwilioMediaError("the media URL is not under this Twilio account", true);
  if (u.username || u.password) throw new TwilioMediaError("the media URL carries credentials", true);
  if (base && u.origin === TWILIO_API) return new URL(u.pathname + u.search, base);
  return u;
}

/** Downloads one media file with the account's credentials; more than `maxBytes` is a MediaTooLargeError, a file that cannot be fetched a TwilioMediaError. */
export async function downloadMedia(raw: string, o: MediaOptions): Promise<{ data: Uint8Array; mime: string | null }> {
  const max = o.maxBytes ?? DEFAULT_MAX_MEDIA_BYTES;
  let url = mediaUrl(raw, o);
  const apiOrigin = url.origin;
  const signal = AbortSignal.timeout(o.timeoutMs ?? 10_000);
  const basic = `Basic ${Buffer.from(`${o.accountSid}:${o.authToken}`).toString("base64")}`;
  let res: Response;
  for (let hop = 0; ; hop++) {
    // Manual redirects: the credentials are sent to the API origin only, whatever fetch would do.
    const headers: Record<string, string> = url.origin === apiOrigin ? { authorization: basic } : {};
    try {
      res = await fetch(url, { headers, redirect: "manual", signal });
    } catch (e) {
      throw new TwilioMediaError(`the media download failed: ${e instanceof Error ? e.message : String(e)}`, false);
    }
    if (res.status < 300 || res.status >= 400) break;
    await res.body?.cancel();
    const location = res.headers.get("location");
    if (!location || hop >= MAX_REDIRECTS)
      throw new TwilioMediaError(`the media URL redirected ${hop + 1} times`, true);
    const next = new URL(location, url);
    // Twilio redirects to https storage; plain http is accepted only when the API itself is plain http (a local stand-in).
    if (next.protocol !== "https:" && !(next.protocol === "http:" && apiOrigin.startsWith("http:")))
      throw new TwilioMediaError(`the media URL redirected to ${next.protocol}`, true);
    url = next;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new TwilioMediaError(
      `Twilio answered HTTP ${res.status} for the media`,
      res.status >= 400 && res.status < 500 && res.status !== 429,
    );
  }
  const declared = Number(res.headers.get("content-length") ?? "NaN");
  if (declared > max) {
    await res.body?.cancel();
    throw new MediaTooLargeError(declared, max);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength;
    // Throwing ends the loop, which cancels the body: nothing more is read.
    if (size > max) throw new MediaTooLargeError(size, max);
    chunks.push(chunk);
  }
  return { data: Buffer.concat(chunks), mime: res.headers.get("content-type")?.split(";")[0]?.trim() || null };
}
