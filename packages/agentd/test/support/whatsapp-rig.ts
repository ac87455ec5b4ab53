// One agentd with the WhatsApp Cloud API channel pointed at the local Graph API stand-in, and Meta's
// side of the webhook: payloads posted the way Meta posts them, signed with the app secret.
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { WHATSAPP_CLOUD, type WhatsAppOptions, whatsappChannel } from "../../src/channels/whatsapp/index.ts";
import { testAgentd } from "./app.ts";
import type { Backend } from "./backends.ts";
import {
  inboundId,
  messagePayload,
  signBody,
  startWhatsAppServer,
  statusPayload,
  webhookBody,
} from "./whatsapp-server.ts";

export const VERIFY_TOKEN = "verify-me-123";

export async function whatsappRig(
  t: { after(fn: () => unknown): void },
  b: Backend,
  opts: Parameters<typeof testAgentd>[2] & { channel?: Partial<WhatsAppOptions> } = {},
) {
  const logs: string[] = [];
  const wa = await startWhatsAppServer();
  t.after(() => wa.close());
  const ta = await testAgentd(t, b, opts);
  const channel = (register = true) =>
    whatsappChannel(ta.app.channelHost, {
      token: wa.token,
      appSecret: wa.appSecret,
      phoneNumberId: wa.phoneNumberId,
      verifyToken: VERIFY_TOKEN,
      apiBaseUrl: wa.url,
      confirmGraceMs: 0,
      log: (m) => logs.push(m),
      register,
      ...opts.channel,
    });
  const ch = channel();
  /** The same channel as a process started later would build it: a webhook with no memory of this one's requests. */
  const restarted = () => channel(false);
  /** Posts a payload to the webhook as Meta does: signed with the app secret unless `signature` is given (null: none). */
  const post = async (payload: unknown, signature?: string | null, via: Hono = ch.webhook) => {
    const raw = typeof payload === "string" ? payload : webhookBody(payload);
    const sig = signature === undefined ? signBody(wa.appSecret, raw) : signature;
    const res = await via.request("/", {
      method: "POST",
      headers: { "content-type": "application/json", ...(sig === null ? {} : { "x-hub-signature-256": sig }) },
      body: raw,
    });
    return { status: res.status, body: await res.text() };
  };
  /** A text from `from`; returns the HTTP status and the message's wamid. */
  const text = async (from: string, body: string, o: { id?: string; name?: string } = {}) => {
    const id = o.id ?? inboundId();
    const payload = messagePayload(wa.phoneNumberId, from, { type: "text", text: { body } }, { ...o, id });
    return { ...(await post(payload)), id, payload };
  };
  const pair = async (from: string) => {
    const { code } = await ta.app.tenants.createPairingCode(ta.tenantId);
    assert.equal((await text(from, `/start ${code}`)).status, 200);
    assert.equal(await ta.app.tenants.tenantOf(WHATSAPP_CLOUD, from), ta.tenantId);
  };
  const status = (id: string, st: string, o: { to?: string; opaque?: string; errorCode?: number } = {}) =>
    post(
      statusPayload(wa.phoneNumberId, {
        id,
        status: st,
        to: o.to ?? "",
        ...(o.opaque ? { opaque: o.opaque } : {}),
        ...(o.errorCode ? { errorCode: o.errorCode } : {}),
      }),
    );
  /** The messages the stand-in accepted for one person, in order. */
  const to = (who: string) => wa.messages.filter((m) => m.to === who);
  return { ...ta, wa, ch, post, text, pair, status, to, logs, restarted };
}
