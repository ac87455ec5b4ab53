import { timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import type { WhatsAppAPI } from "whatsapp-api-js";
import type { Attachment } from "../../blobs/index.ts";
import { MediaTooLargeError } from "../../blobs/local.ts";
import { PAIRING, UNPAIRED_REPLY } from "../../sessions/inbox.ts";
import { sessions } from "../../sessions/store.ts";
import { isDecisionButton } from "../decisions.ts";
import type { WhatsAppHost } from "./index.ts";
import { outbox } from "../outbox.ts";
import { inboundLog } from "../inbound-log.ts";
import { Recent } from "../recent.ts";
import { tooLargeReply, UNREADABLE_REPLY } from "../replies.ts";
import { GraphApiError, WINDOW_CLOSED } from "./client.ts";
import { downloadMedia, mediaOf, WhatsAppMediaError } from "./media.ts";
import { type Inbound, parseWebhook, PayloadError, type WhatsAppStatus } from "./payload.ts";
import { parseOpaque } from "./send.ts";
import { errorBody } from "../../api/errors.ts";


export interface WebhookOptions {
  client: WhatsAppAPI;
  /** The channel name identities, sessions and outbox rows are filed under. */
  channel: string;
  phoneNumberId: string;
  /** What Meta's verification request must present (hub.verify_token), chosen when the webhook is set up. */
  verifyToken: string;
  maxMediaBytes: number;
  apiBaseUrl?: string;
  /** Sends a short answer keyed by the inbound message: durable (through the outbox) when a tenant is known; a failure is logged. */
  tell(tenantId: string | null, to: string, text: string, key: string): Promise<void>;
  /** Shows "typing…" on the person's message (it also marks it read). Best effort. */
  typing(messageId: string): void;
  /** The person wrote: deliveries held for the 24-hour window can go now (in the background). */
  windowOpened(tenantId: string, conversation: string): void;
  log(message: string): void;
}

/**
 * The Cloud API's webhook. GET: Meta's verification handshake (hub.challenge echoed when
 * hub.verify_token matches). POST: every body must carry X-Hub-Signature-256, an HMAC of the exact
 * bytes with the app secret, or it is refused with 401 and not read further. Each message is
 * persisted (deduplicated by its wamid) before the 200; a failure answers 500, and Meta delivers the
 * body again. Status reports move outbox rows forward.
 */
export function whatsappWebhook(host: WhatsAppHost, o: WebhookOptions): Hono {
  const recent = new Recent();
  const handled = inboundLog(host.db, host.now);
  const webhook = new Hono();

  webhook.get("/", (c) => {
    const mode = c.req.query("hub.mode");
    const token = c.req.query("hub.verify_token") ?? "";
    const challenge = c.req.query("hub.challenge") ?? "";
    if (mode !== "subscribe" || !o.verifyToken || !sameText(token, o.verifyToken)) return c.json(errorBody("forbidden", "hub.mode must be subscribe and hub.verify_token must match WHATSAPP_VERIFY_TOKEN"), 403);
    return c.text(challenge);
  });

  webhook.post("/", async (c) => {
    const raw = await c.req.text();
    const signature = c.req.header("x-hub-signature-256");
    if (!signature || !(await o.client.verifyRequestSignature(raw, signature).catch(() => false))) return c.json(errorBody("unauthorized", "the X-Hub-Signature-256 signature is missing or does not match the body and app secret"), 401);
    let parsed;
    try {
      parsed = parseWebhook(JSON.parse(raw));
    } catch (e) {
      if (e instanceof SyntaxError) return c.json(errorBody("bad_request", "the body is not JSON"), 400);
      if (PayloadError.is(e)) return c.json(errorBody("bad_request", `not a WhatsApp Cloud API webhook: ${e.message}`), 400);
      throw e;
    }
    for (const why of parsed.skipped) o.log(`a webhook item was skipped, not being what Meta sends: ${why}`);
    try {
      for (const m of parsed.messages) {
        if (m.phoneNumberId !== o.phoneNumberId) {
          o.log(`a message to phone number ${m.phoneNumberId} was ignored: this agentd answers for ${o.phoneNumberId} (WHATSAPP_PHONE_NUMBER_ID)`);
          continue;
        }
        await recent.once([`in:${m.message.id}`], async () => {
          if (await handled.seen(o.channel, m.message.id)) return; // a replay: answered 200, nothing done again
          await inbound(m);
          await handled.record(o.channel, m.message.id, await host.tenants.tenantOf(o.channel, m.message.from ?? m.message.from_user_id ?? ""));
        });
      }
      for (const s of parsed.statuses) if (s.phoneNumberId === o.phoneNumberId) await recent.once([`st:${s.status.id}:${s.status.status}`], () => status(s.status));
    } catch (e) {
      // Not all handled: Meta delivers the body again; what was persisted is found by its wamid.
      o.log(`webhook not processed, Meta will deliver it again: ${e instanceof Error ? e.message : String(e)}`);
      return c.json(errorBody("not_processed", "the body was not processed in full; Meta delivers it again"), 500);
    }
    return c.json({ ok: true });
  });

  /** A delivery report: rows only move forward; a report for a part whose answer was lost claims it. */
  async function status(s: WhatsAppStatus): Promise<void> {
    const err = s.errors?.[0];
    const detail = err ? `${err.code}${err.title ? ` ${err.title}` : ""}` : null;
    const now = host.now();
    const changed = await outbox.advance(host.db, o.channel, s.id, s.status, detail, now);
    if (!changed) {
      const at = parseOpaque(s.biz_opaque_callback_data);
      if (at && (await host.tenants.get(at.tenantId))) await outbox.claim(host.tenants.scope(at.tenantId), { ...at, channel: o.channel }, s.id, s.status, detail, now);
    }
    // Accepted, then refused for the 24-hour window (how Meta usually says it): held until the person writes.
    if (s.status === "failed" && err?.code === WINDOW_CLOSED && (await outbox.holdSent(host.db, o.channel, s.id, String(err.code), now)))
      return void o.log(`message ${s.id} came back outside the 24-hour window; it is held until the person writes again`);
    if (s.status === "failed") o.log(`message ${s.id} failed${detail ? ` (error ${detail})` : ""}`);
  }

  async function inbound({ message: m, name }: Inbound): Promise<void> {
    const from = m.from ?? m.from_user_id;
    if (!from) return void o.log(`message ${m.id} names no sender; ignored`);
    if (m.group_id) return void o.log(`message ${m.id} came from a group; groups are not served`);
    if (m.type === "reaction") return; // a reaction to a message is not a message
    const answerKey = `wa-in:${m.id}`;
    const tenantId = await host.tenants.tenantOf(o.channel, from);
    const scope = tenantId ? host.tenants.scope(tenantId) : null;
    // Something already answered (a pairing, a refused decision, a button press): a redelivery answers nothing again.
    if (scope && (await outbox.parts(scope, answerKey)).length) return;
    // A message from the person opens WhatsApp's 24-hour window: what was held for it goes out now.
    if (tenantId) o.windowOpened(tenantId, from);
    const tell = (text: string, tenant = tenantId) => o.tell(tenant, from, text, answerKey);

    const button = m.interactive?.button_reply?.id;
    if (m.type === "interactive" && button && isDecisionButton(button)) {
      const { text } = await host.decisions.byButton(tenantId, button, `${o.channel}:${from}`, { channel: o.channel, conversation: from });
      return tell(text);
    }
    const text = m.text?.body ?? m.image?.caption ?? m.video?.caption ?? m.document?.caption ?? m.interactive?.button_reply?.title ?? m.interactive?.list_reply?.title ?? m.button?.text ?? "";
    const file = mediaOf(m);
    if (!file && !text) return tell(tenantId ? UNREADABLE_REPLY : UNPAIRED_REPLY);

    if (tenantId) {
      const decision = await host.decisions.byReply(tenantId, text, `${o.channel}:${from}`, { channel: o.channel, conversation: from });
      if (decision?.kind === "refused") return tell(decision.text);
      if (decision) return;
    }

    const sourceKey = `wa:${m.id}`;
    let attachments: Attachment[] = [];
    let note = "";
    if (tenantId && file && !PAIRING.test(text)) {
      // A redelivery finds its message (and blob) already stored: no second download.
      const session = await sessions.find(scope!, o.channel, from);
      const seen = session ? await sessions.bySource(scope!, session.id, sourceKey) : null;
      if (seen) attachments = seen.attachments ?? [];
      else {
        try {
          const data = await downloadMedia(o.client, file.media, { phoneNumberId: o.phoneNumberId, limit: o.maxMediaBytes, ...(o.apiBaseUrl ? { apiBaseUrl: o.apiBaseUrl } : {}) });
          attachments = [await host.blobs.put(tenantId, data, { mime: file.mime, ...(file.name ? { name: file.name } : {}), source: sourceKey })];
        } catch (e) {
          // Retrying can't help: say so (too large: no turn), or keep the message and say what was dropped.
          if (MediaTooLargeError.is(e)) return tell(tooLargeReply(e));
          const permanent = (WhatsAppMediaError.is(e) && e.permanent) || (GraphApiError.is(e) && e.permanent);
          if (!permanent) throw e;
          o.log(`the file of ${m.id} was not kept: ${e instanceof Error ? e.message : String(e)}`);
          note = `\n[an attachment was not kept: ${e instanceof Error ? e.message : String(e)}]`;
        }
      }
    }

    const outcome = await host.inbox.fromIdentity({
      channel: o.channel, externalId: from, conversation: from, text: text + note, sourceKey,
      ...(name ? { display: name } : {}), ...(attachments.length ? { attachments } : {}),
    });
    if (outcome.kind === "turn") {
      if (!outcome.received.duplicate) o.typing(m.id);
      return;
    }
    await tell(outcome.reply, outcome.kind === "paired" ? outcome.tenantId : null);
  }

  return webhook;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
