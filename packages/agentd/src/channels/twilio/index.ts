import type { Hono } from "hono";
import type { ChannelAdapter, ChannelHost, Delivery } from "../ports.ts";
import { type TwilioClient, twilioClient } from "./client.ts";
import { type TwilioChannelName, toAddress, twilioSender } from "./send.ts";
import { twilioWebhook } from "./webhook.ts";
import { mediaLink, serveMedia } from "./outbound-media.ts";

export { twilioClient, type TwilioClient } from "./client.ts";
export { downloadMedia, mediaUrl, TwilioMediaError } from "./media.ts";
export type { TwilioChannelName } from "./send.ts";
export { LIMITS, splitText } from "./split.ts";

export interface TwilioChannelOptions {
  accountSid: string;
  authToken: string;
  /** The numbers agentd sends from: an E.164 number for SMS, a WhatsApp sender (with or without `whatsapp:`). */
  from: { sms?: string; whatsapp?: string };
  /** The exact URL Twilio is configured to call (the signature covers it): e.g. https://agent.example.com/channels/twilio. */
  publicUrl: string;
  /** A ready `twilio` client (tests point one at a stand-in); by default the real API. */
  client?: TwilioClient;
  /** Where the client is pointed instead of https://api.twilio.com; media URLs are fetched there too. */
  apiBaseUrl?: string;
  /** Ask Twilio for delivery statuses at <publicUrl>/status (default true). */
  statusCallbacks?: boolean;
  /** The largest inbound media file kept (default: the blob store's 20 MB). */
  maxMediaBytes?: number;
  /** Registers the adapters for deliveries in this process (default true). */
  register?: boolean;
  log?: (message: string, error?: unknown) => void;
}

export interface TwilioChannel {
  adapters: ChannelAdapter[];
  adapter(channel: TwilioChannelName): ChannelAdapter;
  /** Mount where `publicUrl` points; answers Twilio's form-encoded POSTs (messages, and statuses at /status). */
  webhook: Hono;
  client: TwilioClient;
  /** The URL given to Twilio as each message's StatusCallback. */
  statusUrl: string;
}

export const approvalText = (a: { tool: string; subject: string; code: string }) =>
  `Approve ${a.tool}: ${a.subject}? Reply YES ${a.code} or NO ${a.code}`;
/** What a delivery reads as by text: an approval as its question with the reply codes. */
const textOf = (d: Pick<Delivery, "kind" | "text" | "approval">) =>
  d.kind === "approval" && d.approval ? approvalText(d.approval) : d.text;

/**
 * SMS and WhatsApp through Twilio. Inbound: signed webhooks (webhook.ts), persisted through the inbox
 * before the 200, media into the blob store. Outbound: replies, approval requests and notices through
 * the Messages API, split to the channel's limit, each part recorded in the durable outbox (send.ts).
 */
/** What the Twilio channel reaches of agentd: messages in, deliveries out (registered, recorded in the outbox). */
export type TwilioHost = Pick<
  ChannelHost,
  "inbox" | "decisions" | "tenants" | "blobs" | "adapters" | "db" | "now" | "held"
>;

export function twilioChannel(host: TwilioHost, opts: TwilioChannelOptions): TwilioChannel {
  const client =
    opts.client ??
    twilioClient(opts.accountSid, opts.authToken, opts.apiBaseUrl ? { apiBaseUrl: opts.apiBaseUrl } : {});
  const log = opts.log ?? ((m, e) => console.warn(`twilio: ${m}`, e ?? ""));
  const publicUrl = opts.publicUrl.replace(/\/+$/, "");
  const statusUrl = `${publicUrl}/status`;
  const from = (channel: TwilioChannelName): string => {
    if (channel === "sms") {
      if (!opts.from.sms) throw new Error("twilio: no SMS sender number configured (TWILIO_SMS_FROM)");
      return opts.from.sms;
    }
    if (!opts.from.whatsapp) throw new Error("twilio: no WhatsApp sender configured (TWILIO_WHATSAPP_FROM)");
    return toAddress("whatsapp", opts.from.whatsapp);
  };
  const send = twilioSender({
    db: host.db,
    now: host.now,
    client,
    from,
    ...((opts.statusCallbacks ?? true) ? { statusCallback: statusUrl } : {}),
  });

  const adapter = (channel: TwilioChannelName): ChannelAdapter => ({
    channel,
    async deliver(d: Delivery) {
      const text = textOf(d);
      const media = (d.files ?? []).map((f) => ({
        url: mediaLink(publicUrl, opts.authToken, d.tenantId, f, host.now()),
        caption: f.name ?? f.id,
      }));
      if (!text.trim() && !media.length) return;
      await send(host.tenants.scope(d.tenantId), channel, d.session.conversation, text, d.key, media);
    },
  });
  const adapters: ChannelAdapter[] = [];
  if (opts.from.sms) adapters.push(adapter("sms"));
  if (opts.from.whatsapp) adapters.push(adapter("whatsapp"));
  if (opts.register ?? true) for (const a of adapters) host.adapters.register(a);
  if ((opts.register ?? true) && opts.from.whatsapp)
    host.held.sender("whatsapp", async (tenantId, to, d) => {
      await send(host.tenants.scope(tenantId), "whatsapp", to, textOf(d), d.key);
      log(`${d.key} held for WhatsApp's 24-hour window was sent to ${to}`);
    });

  const webhook = twilioWebhook(host, {
    accountSid: opts.accountSid,
    authToken: opts.authToken,
    publicUrl,
    statusUrl,
    log,
    media: {
      accountSid: opts.accountSid,
      authToken: opts.authToken,
      ...(opts.apiBaseUrl ? { apiBaseUrl: opts.apiBaseUrl } : {}),
      ...(opts.maxMediaBytes ? { maxBytes: opts.maxMediaBytes } : {}),
    },
    windowOpened: (tenantId, to) => host.held.opened(tenantId, "whatsapp", to),
    async tell(tenantId, channel, to, text, key) {
      try {
        // With a tenant the answer goes through the outbox (a replay finds it there); an unknown sender's has no tenant to keep it under.
        if (tenantId) await send(host.tenants.scope(tenantId), channel, to, text, key);
        else await client.messages.create({ to: toAddress(channel, to), from: from(channel), body: text });
      } catch (e) {
        log(`could not answer ${to}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  });

  // The files replies send, fetched by Twilio through signed links (outside the signed POST webhooks).
  webhook.get("/media/:tenant/:blob", serveMedia(host, opts.authToken));

  return {
    adapters,
    adapter: (channel) => {
      const a = adapters.find((x) => x.channel === channel);
      if (!a) throw new Error(`twilio: no ${channel} sender configured`);
      return a;
    },
    webhook,
    client,
    statusUrl,
  };
}
