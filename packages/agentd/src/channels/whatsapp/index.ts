import type { Hono } from "hono";
import type { WhatsAppAPI } from "whatsapp-api-js";
import { Text } from "whatsapp-api-js/messages";
import type { ChannelAdapter, ChannelHost, Delivery, LiveView } from "../ports.ts";
import { whatsappClient } from "./client.ts";
import { fileMessages } from "./files.ts";
import { messagesOf } from "./messages.ts";
import { whatsappSender } from "./send.ts";
import { whatsappWebhook } from "./webhook.ts";

export { GRAPH_VERSION, GraphApiError, whatsappClient } from "./client.ts";
export { toWhatsAppText } from "./format.ts";
export { WHATSAPP_MAX_TEXT } from "./messages.ts";
export { opaqueOf, parseOpaque } from "./send.ts";

/** The channel name of WhatsApp through Meta's Cloud API (Twilio's WhatsApp is `whatsapp`). */
export const WHATSAPP_CLOUD = "whatsapp-cloud";
/** WhatsApp drops a typing indicator after 25 s or at the next message: it is shown again before that. */
const TYPING_REFRESH_MS = 20_000;

export interface WhatsAppOptions {
  /** A system user's access token (whatsapp_business_messaging). */
  token: string;
  /** The Meta app's secret: every webhook is signed with it. */
  appSecret: string;
  /** The business phone number's id (not the number itself): where replies are sent from. */
  phoneNumberId: string;
  /** What Meta's webhook verification must present; chosen by the operator when subscribing the webhook. */
  verifyToken: string;
  version?: string;
  /** Another origin for the Graph API (a stand-in in tests). */
  apiBaseUrl?: string;
  /** A ready client (tests may pass one); built from the options above by default. */
  client?: WhatsAppAPI;
  /** See SenderOptions.confirmGraceMs. */
  confirmGraceMs?: number;
  maxMediaBytes?: number;
  /** How often the typing indicator is shown again while a turn works (default 20 s; WhatsApp drops it after 25). */
  typingRefreshMs?: number;
  /** Registers the adapter for deliveries in this process (default true). */
  register?: boolean;
  log?: (message: string) => void;
}

export interface WhatsAppChannel {
  adapter: ChannelAdapter;
  /** Mount where Meta's webhook points (GET: verification, POST: messages and statuses). */
  webhook: Hono;
  client: WhatsAppAPI;
}

/**
 * WhatsApp directly through Meta's Cloud API. Inbound: signed webhooks, each message persisted
 * (deduplicated by its wamid) before the 200, media into the blob store, pairing, decisions by reply
 * button or code. Outbound: replies split under the 4,096-character limit in WhatsApp's formatting,
 * approval requests as three reply buttons, every part recorded in the outbox; a typing indicator
 * on the person's message while a turn works.
 */
/** What the Cloud API channel reaches of agentd: messages in, deliveries out (registered, recorded in the outbox). */
export type WhatsAppHost = Pick<
  ChannelHost,
  "inbox" | "decisions" | "tenants" | "blobs" | "adapters" | "db" | "now" | "held"
>;

export function whatsappChannel(host: WhatsAppHost, opts: WhatsAppOptions): WhatsAppChannel {
  const log = opts.log ?? ((m) => console.warn(`whatsapp: ${m}`));
  const client =
    opts.client ??
    whatsappClient({
      token: opts.token,
      appSecret: opts.appSecret,
      ...(opts.version ? { version: opts.version } : {}),
      ...(opts.apiBaseUrl ? { apiBaseUrl: opts.apiBaseUrl } : {}),
    });
  const now = host.now;
  const senderOptions = {
    client,
    phoneNumberId: opts.phoneNumberId,
    channel: WHATSAPP_CLOUD,
    now,
    log,
    ...(opts.confirmGraceMs !== undefined ? { confirmGraceMs: opts.confirmGraceMs } : {}),
  };
  const send = whatsappSender(senderOptions);
  // Answers inside the webhook wait out one rate limit at most: Meta expects its webhook answered within seconds.
  const answer = whatsappSender({ ...senderOptions, rateLimitWaits: 1 });
  const typing = (messageId: string) => {
    client
      .markAsRead(opts.phoneNumberId, messageId, "text")
      .catch((e: unknown) => log(`typing indicator not shown: ${e instanceof Error ? e.message : String(e)}`));
  };

  const adapter: ChannelAdapter = {
    channel: WHATSAPP_CLOUD,
    async deliver(d: Delivery) {
      const scope = host.tenants.scope(d.tenantId);
      const files = fileMessages(
        { client, phoneNumberId: opts.phoneNumberId, blobs: host.blobs },
        d.tenantId,
        d.files ?? [],
      );
      const text = d.kind === "approval" || d.text.trim() ? messagesOf(d) : [];
      await send(scope, d.session.conversation, [...text, ...files], d.key);
    },
    live({ tenantId, session }): LiveView {
      // The indicator hangs on the person's latest message: found in the session, so any worker can show it.
      let closed = false;
      const show = async () => {
        const scope = host.tenants.scope(tenantId);
        const row = await scope.get<{ source_key: string }>(
          "SELECT source_key FROM os_messages WHERE tenant_id = $tenant AND session_id = ? AND role = 'user' AND source_key LIKE 'wa:%' ORDER BY seq DESC LIMIT 1",
          [session.id],
        );
        if (row && !closed) typing(row.source_key.slice(3));
      };
      // The webhook showed it as the message arrived; this keeps it up past WhatsApp's 25 s.
      const timer = setInterval(() => void show().catch(() => {}), opts.typingRefreshMs ?? TYPING_REFRESH_MS);
      timer.unref();
      return {
        update: () => {}, // the Cloud API cannot edit a sent message: the reply arrives whole
        close: async () => {
          closed = true;
          clearInterval(timer);
        },
      };
    },
  };
  if (opts.register ?? true) {
    host.adapters.register(adapter);
    host.held.sender(WHATSAPP_CLOUD, async (tenantId, to, d) => {
      await send(host.tenants.scope(tenantId), to, messagesOf(d), d.key);
      log(`${d.key} held for WhatsApp's 24-hour window was sent to ${to}`);
    });
  }

  const webhook = whatsappWebhook(host, {
    client,
    channel: WHATSAPP_CLOUD,
    phoneNumberId: opts.phoneNumberId,
    verifyToken: opts.verifyToken,
    maxMediaBytes: opts.maxMediaBytes ?? host.blobs.maxBytes,
    ...(opts.apiBaseUrl ? { apiBaseUrl: opts.apiBaseUrl } : {}),
    typing,
    log,
    async tell(tenantId, to, text, key) {
      try {
        // With a tenant the answer goes through the outbox (a redelivery finds it there); an unknown sender's has no tenant to keep it under.
        if (tenantId) await answer(host.tenants.scope(tenantId), to, [new Text(text)], key);
        else await client.sendMessage(opts.phoneNumberId, to, new Text(text));
      } catch (e) {
        // Not worth failing the webhook for: what it answers (a pairing, a decision) is done, and a redelivery could not redo it.
        log(`could not answer ${to}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
    windowOpened: (tenantId, to) => host.held.opened(tenantId, WHATSAPP_CLOUD, to),
  });
  return { adapter, webhook, client };
}
