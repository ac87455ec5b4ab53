import { Hono } from "hono";
import twilio from "twilio";
import type { Agentd } from "../../app.ts";
import { approvals, eventName } from "../../agent/approvals.ts";
import type { ChannelAdapter, Delivery } from "../../agent/delivery.ts";
import { type TwilioClient, twilioClient } from "./client.ts";
import { LIMITS, splitText } from "./split.ts";

export { twilioClient, type TwilioClient } from "./client.ts";
export { LIMITS, splitText } from "./split.ts";

export type TwilioChannelName = "sms" | "whatsapp";

export interface TwilioChannelOptions {
  accountSid: string;
  authToken: string;
  /** The numbers agentd sends from: an E.164 number for SMS, a WhatsApp sender (with or without `whatsapp:`). */
  from: { sms?: string; whatsapp?: string };
  /** The exact URL Twilio is configured to call (the signature covers it): e.g. https://agent.example.com/channels/twilio. */
  publicUrl: string;
  /** A ready `twilio` client (tests point one at a stand-in); by default the real API. */
  client?: TwilioClient;
  /** Registers the adapters on app.channels (default true). */
  register?: boolean;
  log?: (message: string, error?: unknown) => void;
}

export interface TwilioChannel {
  adapters: ChannelAdapter[];
  adapter(channel: TwilioChannelName): ChannelAdapter;
  /** Mount where `publicUrl` points; answers Twilio's form-encoded POSTs. */
  webhook: Hono;
  client: TwilioClient;
}

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
const DECISION = /^\s*(YES|NO|Y|N|APPROVE|DENY)\s+([A-Za-z0-9]{4,8})\s*[.!]?\s*$/i;

export const approvalText = (a: { tool: string; subject: string; code: string }) => `Approve ${a.tool}: ${a.subject}? Reply YES ${a.code} or NO ${a.code}`;

/**
 * SMS and WhatsApp through Twilio. Inbound: the webhook checks `X-Twilio-Signature` against the
 * public URL, deduplicates by MessageSid (the message's source key) and persists the message through
 * the inbox before answering 200. Outbound: replies, approval requests and notices through the
 * Messages API, split to the channel's limit.
 */
export function twilioChannel(app: Agentd, opts: TwilioChannelOptions): TwilioChannel {
  const client = opts.client ?? twilioClient(opts.accountSid, opts.authToken);
  const log = opts.log ?? ((m, e) => console.warn(`twilio: ${m}`, e ?? ""));
  const fromFor = (channel: TwilioChannelName): string => {
    if (channel === "sms") {
      if (!opts.from.sms) throw new Error("twilio: no SMS sender number configured");
      return opts.from.sms;
    }
    if (!opts.from.whatsapp) throw new Error("twilio: no WhatsApp sender configured");
    return opts.from.whatsapp.startsWith("whatsapp:") ? opts.from.whatsapp : `whatsapp:${opts.from.whatsapp}`;
  };
  const toFor = (channel: TwilioChannelName, to: string) => (channel === "whatsapp" && !to.startsWith("whatsapp:") ? `whatsapp:${to}` : to);

  // Parts already accepted by Twilio in this process: a retried delivery sends only what is missing.
  const sent = new Set<string>();
  const send = async (channel: TwilioChannelName, to: string, text: string, key: string): Promise<void> => {
    const parts = splitText(text, LIMITS[channel]);
    for (const [i, body] of parts.entries()) {
      const partKey = `${key}#${i}`;
      if (sent.has(partKey)) continue;
      await client.messages.create({ to: toFor(channel, to), from: fromFor(channel), body });
      sent.add(partKey);
    }
  };

  const adapter = (channel: TwilioChannelName): ChannelAdapter => ({
    channel,
    async deliver(d: Delivery) {
      const text = d.kind === "approval" && d.approval ? approvalText(d.approval) : d.text;
      if (!text.trim()) return;
      await send(channel, d.session.conversation, text, d.key);
    },
  });
  const adapters: ChannelAdapter[] = [];
  if (opts.from.sms) adapters.push(adapter("sms"));
  if (opts.from.whatsapp) adapters.push(adapter("whatsapp"));
  if (opts.register ?? true) for (const a of adapters) app.channels.register(a);

  const webhook = new Hono();
  webhook.post("*", async (c) => {
    const raw = await c.req.text();
    const params: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(raw)) {
      const prev = params[k];
      params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const signature = c.req.header("x-twilio-signature");
    const url = opts.publicUrl + new URL(c.req.url).search;
    if (!signature || !twilio.validateRequest(opts.authToken, signature, url, params)) return c.text("forbidden", 403);
    if (params.AccountSid !== opts.accountSid) return c.text("forbidden", 403);

    const one = (k: string) => (typeof params[k] === "string" ? (params[k] as string) : undefined);
    const sid = one("MessageSid") ?? one("SmsMessageSid");
    const from = one("From");
    if (!sid || !from) return c.text("MessageSid and From are required", 400);
    const channel: TwilioChannelName = from.startsWith("whatsapp:") ? "whatsapp" : "sms";
    const text = one("Body") ?? "";
    const twiml = () => c.body(EMPTY_TWIML, 200, { "content-type": "text/xml; charset=utf-8" });
    const tell = async (body: string, what: string) => {
      try {
        await send(channel, from, body, `twilio-in:${sid}:${what}`);
      } catch (e) {
        log(`could not answer ${from}`, e);
      }
    };

    const decision = DECISION.exec(text);
    if (decision) {
      const tenantId = await app.tenants.tenantOf(channel, from);
      if (tenantId) {
        const scope = app.tenants.scope(tenantId);
        const code = (decision[2] as string).toUpperCase();
        const pending = await approvals.byCode(scope, code);
        if (pending) {
          const choice = /^(YES|Y|APPROVE)$/i.test(decision[1] as string) ? "once" : "deny";
          try {
            await approvals.decide(scope, pending.id, choice, `${channel}:${from}`, Date.now(), async (runId, ev) => {
              await app.kernel.sendEvent(runId, eventName(pending.id), ev, { eventId: pending.id });
            });
          } catch (e) {
            await tell(`That approval can no longer be decided (${e instanceof Error ? e.message : String(e)}).`, "decision");
          }
          return twiml();
        }
        // A redelivery of a decision already made (or a second answer): nothing more to do.
        const decided = await scope.get<{ id: string }>("SELECT id FROM os_approvals WHERE tenant_id = $tenant AND code = ? AND status <> 'pending'", [code]);
        if (decided) return twiml();
      }
    }

    const outcome = await app.inbox.fromIdentity({
      channel, externalId: from, conversation: from, text, sourceKey: `twilio:${sid}`,
      ...(one("ProfileName") ? { display: one("ProfileName") as string } : {}),
    });
    if (outcome.kind !== "turn") await tell(outcome.reply, outcome.kind);
    return twiml();
  });

  return {
    adapters,
    adapter: (channel) => {
      const a = adapters.find((x) => x.channel === channel);
      if (!a) throw new Error(`twilio: no ${channel} sender configured`);
      return a;
    },
    webhook,
    client,
  };
}
