import { type Context, Hono } from "hono";
import twilio from "twilio";
import type { Attachment } from "../../blobs/index.ts";
import { sessions } from "../../sessions/store.ts";
import { outbox } from "../outbox.ts";
import { downloadMedia, type MediaOptions, TwilioMediaError } from "./media.ts";
import { inboundLog } from "../inbound-log.ts";
import { Recent } from "../recent.ts";
import type { TwilioChannelName } from "./send.ts";
import { errorBody } from "../../api/errors.ts";
import { PAIRING } from "../../sessions/inbox.ts";
import type { TwilioHost } from "./index.ts";

/** Twilio's "outside the allowed window" for a WhatsApp freeform message. */
const WINDOW_CLOSED = "63016";
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
/** More than Twilio sends (10 per MMS); a forged NumMedia cannot make us loop. */
const MAX_MEDIA = 10;

type Params = Record<string, string | string[]>;

export interface WebhookOptions {
  accountSid: string;
  authToken: string;
  publicUrl: string;
  /** The status callback URL (publicUrl + "/status"): Twilio signs that exact URL. */
  statusUrl: string;
  media: MediaOptions;
  /** Sends a short answer (instructions, a pairing confirmation) keyed by the inbound message: durable when a tenant is known. */
  tell(tenantId: string | null, channel: TwilioChannelName, to: string, text: string, key: string): Promise<void>;
  log(message: string, error?: unknown): void;
  /** A WhatsApp message came: deliveries held for the 24-hour window can go now (in the background). */
  windowOpened(tenantId: string, conversation: string): void;
}

/**
 * Twilio's two webhooks, each form-encoded and signed with X-Twilio-Signature over its exact URL:
 * inbound messages at the public URL, delivery statuses at <public URL>/status. Anything not signed
 * by this account's auth token, or naming another AccountSid, is refused with 403. Redeliveries and
 * replays are answered 200 with nothing done (so Twilio stops retrying).
 */
export function twilioWebhook(host: TwilioHost, o: WebhookOptions): Hono {
  const recent = new Recent();
  const handled = inboundLog(host.db, host.now);
  const webhook = new Hono();
  const twiml = (c: Context) => c.body(EMPTY_TWIML, 200, { "content-type": "text/xml; charset=utf-8" });

  webhook.post("*", async (c) => {
    const raw = await c.req.text();
    const params: Params = {};
    for (const [k, v] of new URLSearchParams(raw)) {
      const prev = params[k];
      params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const isStatus = new URL(c.req.url).pathname.endsWith("/status");
    const signature = c.req.header("x-twilio-signature");
    const url = (isStatus ? o.statusUrl : o.publicUrl) + new URL(c.req.url).search;
    if (!signature || !twilio.validateRequest(o.authToken, signature, url, params))
      return c.json(errorBody("forbidden", "the X-Twilio-Signature is missing or does not match this request and auth token"), 403);
    if (params.AccountSid !== o.accountSid) return c.json(errorBody("forbidden", "the request names another Twilio account"), 403);
    const one = (k: string) => (typeof params[k] === "string" ? (params[k] as string) : undefined);
    const sid = one("MessageSid") ?? one("SmsMessageSid") ?? one("SmsSid");
    if (!sid) return c.json(errorBody("bad_request", "MessageSid is required"), 400);
    const token = c.req.header("i-twilio-idempotency-token");
    const keys = [`${isStatus ? "status" : "in"}:${sid}:${isStatus ? (one("MessageStatus") ?? one("SmsStatus") ?? "") : ""}`, ...(token ? [`token:${token}`] : [])];
    if (isStatus) {
      await recent.once(keys, () => status(sid, one));
      return twiml(c);
    }
    const from = one("From");
    if (!from) return c.json(errorBody("bad_request", "From is required"), 400);
    await recent.once(keys, async () => {
      if (await handled.seen("twilio", sid)) return; // a replay: answered 200, nothing done again
      const tenantId = await inbound(sid, from, one);
      await handled.record("twilio", sid, tenantId);
    });
    return twiml(c);
  });

  /** A delivery status: the outbox row only moves forward, so replays and late callbacks change nothing. */
  async function status(sid: string, one: (k: string) => string | undefined): Promise<void> {
    const st = (one("MessageStatus") ?? one("SmsStatus") ?? "").toLowerCase();
    if (!st) return;
    const channel: TwilioChannelName = (one("From") ?? one("To") ?? "").startsWith("whatsapp:") ? "whatsapp" : "sms";
    const code = one("ErrorCode") || null;
    const now = host.now();
    const changed = await outbox.advance(host.db, channel, sid, st, code, now);
    // Outside WhatsApp's 24-hour window: held until the person writes again (see ../held.ts).
    if (code === WINDOW_CLOSED && (await outbox.holdSent(host.db, channel, sid, code, now)))
      return void o.log(`message ${sid} came back outside WhatsApp's 24-hour window (error ${code}); it is held until the person writes again`);
    if (changed && (st === "failed" || st === "undelivered")) o.log(`message ${sid} ${st}${code ? ` (error ${code}: https://www.twilio.com/docs/api/errors/${code})` : ""}`);
  }

  /** Handles one inbound message; returns the sender's tenant, if any. */
  async function inbound(sid: string, from: string, one: (k: string) => string | undefined): Promise<string | null> {
    const channel: TwilioChannelName = from.startsWith("whatsapp:") ? "whatsapp" : "sms";
    const text = one("Body") ?? "";
    const answerKey = `twilio-in:${sid}`;
    const tenantId = await host.tenants.tenantOf(channel, from);
    const scope = tenantId ? host.tenants.scope(tenantId) : null;
    // Something we already answered (a pairing, a refused decision): a replay answers nothing and starts nothing.
    if (scope && (await outbox.parts(scope, answerKey)).length) return tenantId;
    // A WhatsApp message opens the 24-hour window: what was held for it goes out now.
    if (tenantId && channel === "whatsapp") o.windowOpened(tenantId, from);

    if (tenantId) {
      const decision = await host.decisions.byReply(tenantId, text, `${channel}:${from}`, { channel, conversation: from });
      if (decision?.kind === "refused") await o.tell(tenantId, channel, from, decision.text, answerKey);
      if (decision) return tenantId;
    }

    // Media only for paired senders: an unknown number gets instructions, and nothing of it is kept.
    let note = "";
    const sourceKey = `twilio:${sid}`;
    // Stored already (a retry after the turn started but before the 200): no second download.
    const session = scope ? await sessions.find(scope, channel, from) : null;
    const stored = session ? await sessions.bySource(scope!, session.id, sourceKey) : null;
    const attachments: Attachment[] = stored?.attachments ?? [];
    if (tenantId && !stored && !PAIRING.test(text)) {
      const count = Math.min(Number.parseInt(one("NumMedia") ?? "0", 10) || 0, MAX_MEDIA);
      for (let i = 0; i < count; i++) {
        const mediaUrl = one(`MediaUrl${i}`);
        if (!mediaUrl) continue;
        try {
          const { data, mime } = await downloadMedia(mediaUrl, o.media);
          attachments.push(await host.blobs.put(tenantId, data, { mime: mime ?? one(`MediaContentType${i}`) ?? "application/octet-stream", source: "twilio" }));
        } catch (e) {
          // Transient (network, 5xx): fail the webhook so Twilio retries. Permanent: keep the message, say what was dropped.
          if (!TwilioMediaError.is(e) || !e.permanent) throw e;
          o.log(`media ${i} of ${sid} not kept: ${e.message}`);
          note += `\n[an attachment was not kept: ${e.message}]`;
        }
      }
    }

    const outcome = await host.inbox.fromIdentity({
      channel, externalId: from, conversation: from, text: text + note, sourceKey,
      ...(one("ProfileName") ? { display: one("ProfileName") as string } : {}),
      ...(attachments.length ? { attachments } : {}),
    });
    if (outcome.kind === "turn") return outcome.tenantId;
    const paired = outcome.kind === "paired" ? outcome.tenantId : null;
    await o.tell(paired, channel, from, outcome.reply, answerKey);
    return paired;
  }

  return webhook;
}
