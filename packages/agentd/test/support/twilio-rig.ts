// One agentd with the Twilio channel pointed at the local stand-in, and Twilio's side of the webhooks:
// inbound messages and status callbacks posted the way Twilio posts them, signed with the auth token.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { Hono } from "hono";
import twilio from "twilio";
import { type TwilioChannelOptions, twilioChannel, twilioClient } from "../../src/channels/twilio/index.ts";
import { testAgentd } from "./app.ts";
import type { Backend } from "./backends.ts";
import { startTwilioServer } from "./twilio-server.ts";

export const PUBLIC_URL = "https://agent.example.test/channels/twilio";
export const SMS_FROM = "+15550009999";
export const WA_FROM = "whatsapp:+15550008888";

let n = 0;
export const msgSid = () => `SM${(++n).toString(16).padStart(32, "0")}`;

export async function setup(
  t: { after(fn: () => unknown): void },
  b: Backend,
  extra: Partial<TwilioChannelOptions> = {},
  agentd: Parameters<typeof testAgentd>[2] = {},
) {
  const logs: string[] = [];
  const tw = await startTwilioServer();
  t.after(() => tw.close());
  const ta = await testAgentd(t, b, agentd);
  const client = twilioClient(tw.accountSid, tw.authToken, { apiBaseUrl: tw.url, maxRetryDelay: 50 });
  const ch = twilioChannel(ta.app.channelHost, {
    accountSid: tw.accountSid,
    authToken: tw.authToken,
    from: { sms: SMS_FROM, whatsapp: WA_FROM },
    publicUrl: PUBLIC_URL,
    client,
    apiBaseUrl: tw.url,
    log: (m) => logs.push(m),
    ...extra,
  });
  /** Posts an inbound message the way Twilio does, signed with the account's auth token (or `signWith`) unless `signature` is given. */
  const inbound = async (
    from: string,
    body: string,
    o: {
      sid?: string;
      signature?: string;
      signWith?: string;
      extra?: Record<string, string>;
      token?: string;
      via?: Hono;
    } = {},
  ) => {
    const params: Record<string, string> = {
      ToCountry: "US",
      SmsMessageSid: o.sid ?? msgSid(),
      NumMedia: "0",
      SmsSid: "",
      Body: body,
      From: from,
      To: from.startsWith("whatsapp:") ? WA_FROM : SMS_FROM,
      AccountSid: tw.accountSid,
      NumSegments: "1",
      ApiVersion: "2010-04-01",
      ...o.extra,
    };
    params.MessageSid = params.SmsMessageSid as string;
    params.SmsSid = params.SmsMessageSid as string;
    const signature = o.signature ?? twilio.getExpectedTwilioSignature(o.signWith ?? tw.authToken, PUBLIC_URL, params);
    const res = await (o.via ?? ch.webhook).request(PUBLIC_URL, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": signature,
        "i-twilio-idempotency-token": o.token ?? randomUUID(),
      },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, text: await res.text(), sid: params.MessageSid };
  };
  const pair = async (from: string, channel = from.startsWith("whatsapp:") ? "whatsapp" : "sms") => {
    const { code } = await ta.app.tenants.createPairingCode(ta.tenantId);
    const r = await inbound(from, `pair ${code}`);
    assert.equal(r.status, 200);
    assert.equal(await ta.app.tenants.tenantOf(channel, from), ta.tenantId);
  };
  const turns = async () => (await ta.app.kernel.listRuns({})).length;
  /** Posts a status callback for one of our messages, signed over `url` (the status URL unless given). */
  const status = async (
    sid: string,
    st: string,
    o: { errorCode?: string; url?: string; signature?: string; accountSid?: string } = {},
  ) => {
    const m = tw.messages.find((x) => x.sid === sid);
    const params: Record<string, string> = {
      AccountSid: o.accountSid ?? tw.accountSid,
      ApiVersion: "2010-04-01",
      From: m?.from ?? SMS_FROM,
      To: m?.to ?? "+15550000001",
      MessageSid: sid,
      SmsSid: sid,
      MessageStatus: st,
      SmsStatus: st,
      ...(o.errorCode ? { ErrorCode: o.errorCode } : {}),
    };
    const signature = o.signature ?? twilio.getExpectedTwilioSignature(tw.authToken, o.url ?? ch.statusUrl, params);
    const res = await ch.webhook.request(ch.statusUrl, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": signature,
        "i-twilio-idempotency-token": randomUUID(),
      },
      body: new URLSearchParams(params).toString(),
    });
    return res.status;
  };
  /** The same channel as a process started later would build it: a webhook with no memory of this one's requests. */
  const restarted = () =>
    twilioChannel(ta.app.channelHost, {
      accountSid: tw.accountSid,
      authToken: tw.authToken,
      from: { sms: SMS_FROM, whatsapp: WA_FROM },
      publicUrl: PUBLIC_URL,
      client,
      apiBaseUrl: tw.url,
      register: false,
      log: (m) => logs.push(m),
      ...extra,
    });
  return { ...ta, tw, ch, inbound, status, pair, turns, logs, restarted };
}
