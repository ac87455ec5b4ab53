import type { Hono } from "hono";
import type { WhatsAppAPI } from "whatsapp-api-js";
import { ActionButtons, Body, Button, Interactive, Text } from "whatsapp-api-js/messages";
import type { ChannelAdapter, Delivery, LiveView } from "../../agent/delivery.ts";
import type { Agentd } from "../../app.ts";
import { DEFAULT_MAX_MEDIA_BYTES } from "../../blobs/index.ts";
import { buttonData, DECISION_BUTTONS } from "../decisions.ts";
import { splitText } from "../split-text.ts";
import { whatsappClient } from "./client.ts";
import { toWhatsAppText } from "./format.ts";
import { whatsappSender } from "./send.ts";
import { whatsappWebhook } from "./webhook.ts";

export { GRAPH_VERSION, GraphApiError, whatsappClient } from "./client.ts";
export { toWhatsAppText } from "./format.ts";
export { opaqueOf, parseOpaque } from "./send.ts";

/** The channel name of WhatsApp through Meta's Cloud API (Twilio's WhatsApp is `whatsapp`). */
export const WHATSAPP_CLOUD = "whatsapp-cloud";
/** The Cloud API's limit on a text message's body. */
export const WHATSAPP_MAX_TEXT = 4096;
/** WhatsApp drops a typing indicator after 25 s or at the next message: it is shown again before that. */
const TYPING_REFRESH_MS = 20_000;
/** An interactive message's body holds at most 1024 characters. */
const MAX_BUTTON_BODY = 1024;

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
  /** Registers the adapter on app.channels (default true). */
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
export function whatsappChannel(app: Agentd, opts: WhatsAppOptions): WhatsAppChannel {
  const log = opts.log ?? ((m) => console.warn(`whatsapp: ${m}`));
  const client = opts.client ?? whatsappClient({ token: opts.token, appSecret: opts.appSecret, ...(opts.version ? { version: opts.version } : {}), ...(opts.apiBaseUrl ? { apiBaseUrl: opts.apiBaseUrl } : {}) });
  const now = () => app.kernel.clock.now();
  const send = whatsappSender({
    client, phoneNumberId: opts.phoneNumberId, channel: WHATSAPP_CLOUD, now, log, ...(opts.confirmGraceMs !== undefined ? { confirmGraceMs: opts.confirmGraceMs } : {}),
  });
  const typing = (messageId: string) => {
    client.markAsRead(opts.phoneNumberId, messageId, "text").catch((e: unknown) => log(`typing indicator not shown: ${e instanceof Error ? e.message : String(e)}`));
  };

  const adapter: ChannelAdapter = {
    channel: WHATSAPP_CLOUD,
    async deliver(d: Delivery) {
      const scope = app.tenants.scope(d.tenantId);
      await send(scope, d.session.conversation, messagesOf(d), d.key);
    },
    live({ tenantId, session }): LiveView {
      // The indicator hangs on the person's latest message: found in the session, so any worker can show it.
      let timer: NodeJS.Timeout | null = null;
      let closed = false;
      const show = async () => {
        const scope = app.tenants.scope(tenantId);
        const row = await scope.get<{ source_key: string }>(
          "SELECT source_key FROM os_messages WHERE tenant_id = $tenant AND session_id = ? AND role = 'user' AND source_key LIKE 'wa:%' ORDER BY seq DESC LIMIT 1", [session.id],
        );
        if (row && !closed) typing(row.source_key.slice(3));
      };
      void show().catch(() => {});
      timer = setInterval(() => void show().catch(() => {}), TYPING_REFRESH_MS);
      timer.unref();
      return {
        update: () => {}, // the Cloud API cannot edit a sent message: the reply arrives whole
        close: async () => {
          closed = true;
          if (timer) clearInterval(timer);
          timer = null;
        },
      };
    },
  };
  if (opts.register ?? true) app.channels.register(adapter);

  const webhook = whatsappWebhook(app, {
    client, channel: WHATSAPP_CLOUD, phoneNumberId: opts.phoneNumberId, verifyToken: opts.verifyToken,
    maxMediaBytes: opts.maxMediaBytes ?? app.config.maxMediaBytes ?? DEFAULT_MAX_MEDIA_BYTES, ...(opts.apiBaseUrl ? { apiBaseUrl: opts.apiBaseUrl } : {}),
    typing, log,
    async tell(tenantId, to, text, key) {
      try {
        // With a tenant the answer goes through the outbox (a redelivery finds it there); an unknown sender's has no tenant to keep it under.
        if (tenantId) await send(app.tenants.scope(tenantId), to, [new Text(text)], key);
        else await client.sendMessage(opts.phoneNumberId, to, new Text(text));
      } catch (e) {
        log(`could not answer ${to}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  });
  return { adapter, webhook, client };
}

/** A delivery as Cloud API messages: an approval as one message with three reply buttons, anything else as text parts. */
function messagesOf(d: Delivery) {
  if (d.kind === "approval" && d.approval) {
    const a = d.approval;
    const ask = `Approve ${a.tool}: ${a.subject}`;
    const tail = `?\n\n(or reply YES ${a.code} / NO ${a.code})`;
    const body = ask.length + tail.length > MAX_BUTTON_BODY ? `${ask.slice(0, MAX_BUTTON_BODY - tail.length - 1)}…${tail}` : ask + tail;
    const buttons = DECISION_BUTTONS.map((b) => new Button(buttonData(a.id, b.choice), b.title));
    return [new Interactive(new ActionButtons(...(buttons as [Button, ...Button[]])), new Body(body))];
  }
  return splitText(toWhatsAppText(d.text), WHATSAPP_MAX_TEXT).map((part) => new Text(part));
}
