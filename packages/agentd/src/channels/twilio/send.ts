import type { Db } from "../../db/index.ts";
import type { TenantScope } from "../../tenancy/scope.ts";
import { outbox } from "../outbox.ts";
import type { TwilioClient } from "./client.ts";
import { LIMITS, splitText } from "./split.ts";

export type TwilioChannelName = "sms" | "whatsapp";

/** How far Twilio's clock may be behind ours when matching a message it created to an outbox row. */
const CLOCK_SKEW_MS = 120_000;
/** How many of the newest messages to a number the crash look-up reads (newest first). */
const LOOKUP_LIMIT = 50;

export interface SenderOptions {
  db: Db;
  client: TwilioClient;
  from(channel: TwilioChannelName): string;
  /** Sent as `StatusCallback` on every message: where Twilio reports queued / sent / delivered / failed. */
  statusCallback?: string;
  now?: () => number;
}

export const toAddress = (channel: TwilioChannelName, to: string) =>
  channel === "whatsapp" && !to.startsWith("whatsapp:") ? `whatsapp:${to}` : to;

/**
 * Sends text through the Messages API, split to the channel's limit, one outbox row per part: the
 * row says `sending` before the API call and `sent` (with the MessageSid) after it, so a delivery
 * replayed after a crash skips what Twilio already accepted. A part left `sending` by an earlier
 * attempt (a crash inside the API call, or a failed call) is first looked up in Twilio's message log:
 * resent only when Twilio has no unclaimed message with that body to that number since the row
 * was written.
 */
export function twilioSender(o: SenderOptions) {
  const now = o.now ?? Date.now;

  /** A MessageSid Twilio created for this part that no outbox row records yet, or null. */
  async function lookUp(channel: TwilioChannelName, to: string, body: string, since: number): Promise<string | null> {
    // Not filtered by DateSent: a message still queued has none. Newest first, so oldest match wins below.
    const recent = await o.client.messages.list({ to, from: o.from(channel), limit: LOOKUP_LIMIT });
    for (const m of recent.reverse()) {
      if ((m.body ?? "").trim() !== body.trim()) continue;
      if (m.dateCreated && m.dateCreated.getTime() < since - CLOCK_SKEW_MS) continue;
      if (!(await outbox.recorded(o.db, channel, m.sid))) return m.sid;
    }
    return null;
  }

  return async function send(
    scope: TenantScope,
    channel: TwilioChannelName,
    conversation: string,
    text: string,
    key: string,
    /** Files after the text, a message each: a link Twilio fetches, captioned with the file's name (which the crash look-up matches). */
    media: { url: string; caption: string }[] = [],
  ): Promise<void> {
    const to = toAddress(channel, conversation);
    const parts: { body: string; mediaUrl?: string }[] = [
      ...(text.trim() ? splitText(text, LIMITS[channel]) : []).map((body) => ({ body })),
      ...media.map((m) => ({ body: m.caption, mediaUrl: m.url })),
    ];
    for (const [part, { body, mediaUrl }] of parts.entries()) {
      const earlier = await outbox.get(scope, key, part);
      if (earlier?.externalId) continue; // Twilio accepted it already
      // Only a call whose answer never came is looked for in the log: an `unsent` part (a held one sent
      // again) may have a failed look-alike there that must not be taken for it.
      if (earlier && earlier.status !== "sending") await outbox.mark(scope, key, part, "sending", now());
      else if (earlier) {
        const found = await lookUp(channel, to, body, earlier.updatedAt);
        if (found) {
          await outbox.mark(scope, key, part, "sent", now(), found);
          continue;
        }
      } else {
        await outbox.begin(scope, { key, part, channel, conversation: to }, now());
      }
      const msg = await o.client.messages.create({
        to,
        from: o.from(channel),
        body,
        ...(mediaUrl ? { mediaUrl: [mediaUrl] } : {}),
        ...(o.statusCallback ? { statusCallback: o.statusCallback } : {}),
      });
      await outbox.mark(scope, key, part, "sent", now(), msg.sid);
    }
  };
}

export type TwilioSend = ReturnType<typeof twilioSender>;
