import { timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import type { WhatsAppAPI } from "whatsapp-api-js";
import { isDecisionButton } from "../decisions.ts";
import type { InboundMedia } from "../inbound/message.ts";
import type { InboundHost } from "../inbound/context.ts";
import { inboundPipeline } from "../inbound/pipeline.ts";
import { outbox } from "../outbox.ts";
import { Recent } from "../recent.ts";
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
  /** The person wrote: deliveries held for the 24-hour window can go now (a run is stored for them before the answer). */
  windowOpened(tenantId: string, conversation: string): Promise<void>;
  log(message: string): void;
}

/**
 * The Cloud API's webhook. GET: Meta's verification handshake (hub.challenge echoed when
 * hub.verify_token matches). POST: every body must carry X-Hub-Signature-256, an HMAC of the exact
 * bytes with the app secret, or it is refused with 401 and not read further. Each message is
 * persisted (deduplicated by its wamid) before the 200; a failure answers 500, and Meta delivers the
 * body again. Status reports move outbox rows forward.
 */
export function whatsappWebhook(host: InboundHost, o: WebhookOptions): Hono {
  // Retries of status reports in flight; messages' retries and replays are the pipeline's.
  const recent = new Recent();
  const pipeline = inboundPipeline(host, {
    maxMediaBytes: o.maxMediaBytes,
    log: o.log,
    // A message from the person opens WhatsApp's 24-hour window: what was held for it goes out now.
    onKnownSender: (tenantId, m) => o.windowOpened(tenantId, m.sender),
  });
  const webhook = new Hono();

  webhook.get("/", (c) => {
    const mode = c.req.query("hub.mode");
    const token = c.req.query("hub.verify_token") ?? "";
    const challenge = c.req.query("hub.challenge") ?? "";
    if (mode !== "subscribe" || !o.verifyToken || !sameText(token, o.verifyToken))
      return c.json(
        errorBody("forbidden", "hub.mode must be subscribe and hub.verify_token must match WHATSAPP_VERIFY_TOKEN"),
        403,
      );
    return c.text(challenge);
  });

  webhook.post("/", async (c) => {
    const raw = await c.req.text();
    const signature = c.req.header("x-hub-signature-256");
    if (!signature || !(await o.client.verifyRequestSignature(raw, signature).catch(() => false)))
      return c.json(
        errorBody(
          "unauthorized",
          "the X-Hub-Signature-256 signature is missing or does not match the body and app secret",
        ),
        401,
      );
    let parsed: ReturnType<typeof parseWebhook>;
    try {
      parsed = parseWebhook(JSON.parse(raw));
    } catch (e) {
      if (e instanceof SyntaxError) return c.json(errorBody("bad_request", "the body is not JSON"), 400);
      if (PayloadError.is(e))
        return c.json(errorBody("bad_request", `not a WhatsApp Cloud API webhook: ${e.message}`), 400);
      throw e;
    }
    for (const why of parsed.skipped) o.log(`a webhook item was skipped, not being what Meta sends: ${why}`);
    try {
      for (const m of parsed.messages) {
        if (m.phoneNumberId !== o.phoneNumberId) {
          o.log(
            `a message to phone number ${m.phoneNumberId} was ignored: this agentd answers for ${o.phoneNumberId} (WHATSAPP_PHONE_NUMBER_ID)`,
          );
          continue;
        }
        await inbound(m);
      }
      for (const s of parsed.statuses)
        if (s.phoneNumberId === o.phoneNumberId)
          await recent.once([`st:${s.status.id}:${s.status.status}`], () => status(s.status));
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
      if (at && (await host.tenants.get(at.tenantId)))
        await outbox.claim(host.tenants.scope(at.tenantId), { ...at, channel: o.channel }, s.id, s.status, detail, now);
    }
    // Accepted, then refused for the 24-hour window (how Meta usually says it): held until the person writes.
    if (
      s.status === "failed" &&
      err?.code === WINDOW_CLOSED &&
      (await outbox.holdSent(host.db, o.channel, s.id, String(err.code), now))
    )
      return void o.log(
        `message ${s.id} came back outside the 24-hour window; it is held until the person writes again`,
      );
    if (s.status === "failed") o.log(`message ${s.id} failed${detail ? ` (error ${detail})` : ""}`);
  }

  /** One message through the pipeline, and its result as WhatsApp answers: "typing…" for a new turn, or a message. */
  async function inbound({ message: m, name }: Inbound): Promise<void> {
    const from = m.from ?? m.from_user_id;
    if (!from) return void o.log(`message ${m.id} names no sender; ignored`);
    if (m.group_id) return void o.log(`message ${m.id} came from a group; groups are not served`);
    if (m.type === "reaction") return; // a reaction to a message is not a message
    const answerKey = `wa-in:${m.id}`;
    const reply = m.interactive?.button_reply?.id;
    const button = m.type === "interactive" && reply && isDecisionButton(reply) ? reply : undefined;
    const text = button
      ? ""
      : (m.text?.body ??
        m.image?.caption ??
        m.video?.caption ??
        m.document?.caption ??
        m.interactive?.button_reply?.title ??
        m.interactive?.list_reply?.title ??
        m.button?.text ??
        "");
    const file = button ? null : mediaOf(m);
    const files: InboundMedia[] = file
      ? [
          {
            async fetch(limit) {
              try {
                const data = await downloadMedia(o.client, file.media, {
                  phoneNumberId: o.phoneNumberId,
                  limit,
                  ...(o.apiBaseUrl ? { apiBaseUrl: o.apiBaseUrl } : {}),
                });
                return { data, mime: file.mime, ...(file.name ? { name: file.name } : {}) };
              } catch (e) {
                // The Graph API refusing the media id for good is a file that can never be fetched, like any other.
                if (GraphApiError.is(e) && e.permanent) throw new WhatsAppMediaError(e.message, true);
                throw e;
              }
            },
          },
        ]
      : [];
    const message = {
      channel: o.channel,
      sender: from,
      conversation: from,
      sourceKey: `wa:${m.id}`,
      text,
      files,
      ...(button ? { button } : {}),
      ...(name ? { display: name } : {}),
      answerKey,
      provider: { name: o.channel, messageId: m.id },
    };
    await pipeline.handle(message, async (r) => {
      if (r.kind === "turn") {
        if (r.started) o.typing(m.id);
      } else if (r.kind === "reply" || r.kind === "button") await o.tell(r.tenantId, from, r.text, answerKey);
    });
  }

  return webhook;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
