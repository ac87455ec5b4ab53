import { type Context, Hono } from "hono";
import twilio from "twilio";
import { outbox } from "../outbox.ts";
import { downloadMedia, type MediaOptions } from "./media.ts";
import type { InboundMedia, InboundMessage } from "../inbound/message.ts";
import type { InboundHost } from "../inbound/context.ts";
import { inboundPipeline } from "../inbound/pipeline.ts";
import { Recent } from "../recent.ts";
import type { TwilioChannelName } from "./send.ts";
import { errorBody } from "../../api/errors.ts";

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
  /** A WhatsApp message came: deliveries held for the 24-hour window can go now (a run is stored for them before the answer). */
  windowOpened(tenantId: string, conversation: string): Promise<void>;
}

/**
 * Twilio's two webhooks, each form-encoded and signed with X-Twilio-Signature over its exact URL:
 * inbound messages at the public URL, delivery statuses at <public URL>/status. Anything not signed
 * by this account's auth token, or naming another AccountSid, is refused with 403. Redeliveries and
 * replays are answered 200 with nothing done (so Twilio stops retrying).
 */
export function twilioWebhook(host: InboundHost, o: WebhookOptions): Hono {
  // Retries of status callbacks in flight; inbound messages' retries and replays are the pipeline's.
  const recent = new Recent();
  const pipeline = inboundPipeline(host, {
    ...(o.media.maxBytes ? { maxMediaBytes: o.media.maxBytes } : {}),
    log: o.log,
    // A WhatsApp message opens the 24-hour window: what was held for it goes out now.
    onKnownSender: (tenantId, m) => (m.channel === "whatsapp" ? o.windowOpened(tenantId, m.sender) : undefined),
  });
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
      return c.json(
        errorBody("forbidden", "the X-Twilio-Signature is missing or does not match this request and auth token"),
        403,
      );
    if (params.AccountSid !== o.accountSid)
      return c.json(errorBody("forbidden", "the request names another Twilio account"), 403);
    const one = (k: string) => (typeof params[k] === "string" ? (params[k] as string) : undefined);
    const sid = one("MessageSid") ?? one("SmsMessageSid") ?? one("SmsSid");
    if (!sid) return c.json(errorBody("bad_request", "MessageSid is required"), 400);
    const token = c.req.header("i-twilio-idempotency-token");
    if (isStatus) {
      await recent.once(
        [`status:${sid}:${one("MessageStatus") ?? one("SmsStatus") ?? ""}`, ...(token ? [`token:${token}`] : [])],
        () => status(sid, one),
      );
      return twiml(c);
    }
    const from = one("From");
    if (!from) return c.json(errorBody("bad_request", "From is required"), 400);
    const m = messageOf(sid, from, one, token);
    await pipeline.handle(m, async (r) => {
      // An answer with a tenant goes through the outbox under the message's answer key: a redelivery finds it there.
      if (r.kind === "reply" || r.kind === "button")
        await o.tell(r.tenantId, m.channel as TwilioChannelName, from, r.text, m.answerKey as string);
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
      return void o.log(
        `message ${sid} came back outside WhatsApp's 24-hour window (error ${code}); it is held until the person writes again`,
      );
    if (changed && (st === "failed" || st === "undelivered"))
      o.log(`message ${sid} ${st}${code ? ` (error ${code}: https://www.twilio.com/docs/api/errors/${code})` : ""}`);
  }

  /** One inbound message as the pipeline takes it: the text, the files (fetched only if kept), its keys. */
  function messageOf(
    sid: string,
    from: string,
    one: (k: string) => string | undefined,
    token: string | undefined,
  ): InboundMessage {
    const channel: TwilioChannelName = from.startsWith("whatsapp:") ? "whatsapp" : "sms";
    const files: InboundMedia[] = [];
    const count = Math.min(Number.parseInt(one("NumMedia") ?? "0", 10) || 0, MAX_MEDIA);
    for (let i = 0; i < count; i++) {
      const url = one(`MediaUrl${i}`);
      if (!url) continue;
      files.push({
        async fetch(limit) {
          const { data, mime } = await downloadMedia(url, { ...o.media, maxBytes: limit });
          return { data, mime: mime ?? one(`MediaContentType${i}`) ?? "application/octet-stream" };
        },
      });
    }
    return {
      channel,
      sender: from,
      conversation: from,
      sourceKey: `twilio:${sid}`,
      text: one("Body") ?? "",
      files,
      ...(one("ProfileName") ? { display: one("ProfileName") as string } : {}),
      answerKey: `twilio-in:${sid}`,
      provider: { name: "twilio", messageId: sid },
      ...(token ? { retryKeys: [`token:${token}`] } : {}),
    };
  }

  return webhook;
}
