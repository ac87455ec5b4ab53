// A local stand-in for Meta's WhatsApp Cloud API (the Graph API's messages, media and marks) on a
// real socket: Bearer auth, JSON answers and Graph errors shaped like Meta's (codes 190, 100,
// 131047 outside the 24-hour window, 130429 / 131056 rate limits), the Cloud API's limits (4,096
// characters of text; interactive bodies of 1,024 and at most three buttons of 20), media behind
// the token, and Meta's side of the webhook: payloads built the way Meta builds them, signed with
// the app secret over the exact bytes (non-ASCII escaped, as Meta sends it), status reports
// delivered again until they get a 200.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SentMessage {
  id: string;
  to: string;
  type: string;
  /** The text body, or an interactive message's body text. */
  text: string;
  /** Reply buttons of an interactive message: id and title. */
  buttons: { id: string; title: string }[];
  opaque: string | undefined;
  at: number;
  /** An image, document or audio message: the uploaded file it names (its bytes, type and file name). */
  file?: { data: Uint8Array; mime: string; filename?: string };
}
export interface GraphCall {
  method: string;
  path: string;
  status: number;
  body: Record<string, unknown>;
  at: number;
}
export interface GraphFailure {
  status: number;
  code: number;
  message?: string;
  retryAfter?: number;
}
export interface WhatsAppServer {
  url: string;
  token: string;
  appSecret: string;
  phoneNumberId: string;
  calls: GraphCall[];
  /** Messages accepted, in order. */
  messages: SentMessage[];
  /** Read marks (and typing indicators) asked for, by inbound message id. */
  reads: { messageId: string; typing: boolean; at: number }[];
  /** Requests for media bytes, with the Authorization header they carried. */
  mediaCalls: { path: string; authorization: string | undefined }[];
  /** Media ids of the files uploaded (POST /<phone>/media), in order. */
  uploads: string[];
  /** Recipients whose 24-hour window is closed: free-form messages to them are refused with 131047. */
  closedWindow: Set<string>;
  /** The next message sends fail like this, in order. */
  failNext(...f: GraphFailure[]): void;
  /** The next message is accepted (recorded) but its answer never arrives: the connection is dropped. */
  dropNextAnswer(): void;
  /** Where status reports are posted (agentd's webhook); with `autoSent`, every accepted message is reported `sent`. */
  webhookUrl: string | null;
  autoSent: boolean;
  /** Posts a status report for a sent message to webhookUrl, again every second until it gets a 200 (Meta retries too, more slowly over time); resolves with the status of the last try. */
  report(id: string, status: string, o?: { errorCode?: number; tries?: number }): Promise<number>;
  /** Serves bytes as a media file; returns its media id. `sha256` overrides the announced hash (to announce a wrong one). */
  addMedia(data: Uint8Array, mime: string, o?: { sha256?: string; declaredSize?: number; url?: string }): string;
  /** Called for each accepted message (recorded, not yet answered) and each media download: a crash test kills agentd here. */
  intercept?: (call: GraphCall) => void | Promise<void>;
  close(): Promise<void>;
}

const wamid = () => `wamid.${randomBytes(24).toString("base64url")}`;

export async function startWhatsAppServer(
  opts: { token?: string; appSecret?: string; phoneNumberId?: string } = {},
): Promise<WhatsAppServer> {
  const token = opts.token ?? `EAAG${randomBytes(24).toString("hex")}`;
  const appSecret = opts.appSecret ?? randomBytes(16).toString("hex");
  const phoneNumberId = opts.phoneNumberId ?? String(100000000000000 + Math.floor(Math.random() * 1e9));
  const failures: GraphFailure[] = [];
  let dropNext = false;
  const media = new Map<
    string,
    { data: Uint8Array; mime: string; sha256: string; declaredSize: number; url?: string }
  >();
  const pending = new Set<Promise<unknown>>();
  let closing = false;

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) graphError(res, 500, 1, String(e));
      else res.destroy();
    });
  });
  const server: WhatsAppServer = {
    url: "",
    token,
    appSecret,
    phoneNumberId,
    calls: [],
    messages: [],
    reads: [],
    mediaCalls: [],
    uploads: [],
    closedWindow: new Set(),
    failNext: (...f) => void failures.push(...f),
    dropNextAnswer: () => void (dropNext = true),
    webhookUrl: null,
    autoSent: false,
    async report(id, status, o = {}) {
      const m = server.messages.find((x) => x.id === id);
      if (!server.webhookUrl) throw new Error("no webhookUrl to report to");
      const body = statusPayload(phoneNumberId, {
        id,
        status,
        to: m?.to ?? "",
        ...(m?.opaque ? { opaque: m.opaque } : {}),
        ...(o.errorCode ? { errorCode: o.errorCode } : {}),
      });
      let last = 0;
      for (let i = 0; i < (o.tries ?? 1) && !closing; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 1000));
        last = await postSigned(server.webhookUrl, appSecret, body).catch(() => 0);
        if (last === 200) break;
      }
      return last;
    },
    addMedia(data, mime, o = {}) {
      const id = String(1000000000000000 + Math.floor(Math.random() * 1e12));
      media.set(id, {
        data,
        mime,
        sha256: o.sha256 ?? createHash("sha256").update(data).digest("hex"),
        declaredSize: o.declaredSize ?? data.byteLength,
        ...(o.url ? { url: o.url } : {}),
      });
      return id;
    },
    async close() {
      closing = true;
      await Promise.allSettled([...pending]);
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    const raw = bytes.toString("utf8");
    let body: Record<string, unknown> = {};
    if (raw && (req.headers["content-type"] ?? "").includes("json")) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return graphError(res, 400, 100, "Invalid JSON");
      }
    }
    const url = new URL(req.url ?? "/", "http://x");
    const call: GraphCall = { method: req.method ?? "", path: url.pathname, status: 0, body, at: Date.now() };
    server.calls.push(call);
    const reply = (status: number, out: unknown) => {
      call.status = status;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(out));
    };
    const fail = (status: number, code: number, message: string, details?: string) => {
      call.status = status;
      graphError(res, status, code, message, details);
    };
    if (req.headers.authorization !== `Bearer ${token}`)
      return fail(401, 190, "Invalid OAuth access token - Cannot parse access token");

    const file = /^\/media\/(\d+)$/.exec(url.pathname);
    if (file && req.method === "GET") {
      server.mediaCalls.push({ path: url.pathname, authorization: req.headers.authorization });
      const m = media.get(file[1] as string);
      if (!m) return fail(404, 100, "Media not found");
      await server.intercept?.(call);
      call.status = 200;
      res.writeHead(200, { "content-type": m.mime, "content-length": String(m.data.byteLength) });
      return void res.end(m.data);
    }
    const info = /^\/v\d+\.\d+\/(\d+)$/.exec(url.pathname);
    if (info && req.method === "GET" && info[1] === phoneNumberId)
      return reply(200, {
        verified_name: "agentd test",
        display_phone_number: "+1 555-078-3881",
        quality_rating: "GREEN",
        id: phoneNumberId,
      });
    if (info && req.method === "GET") {
      const m = media.get(info[1] as string);
      if (!m) return fail(400, 100, "(#100) Invalid parameter");
      return reply(200, {
        messaging_product: "whatsapp",
        url: m.url ?? `${server.url}/media/${info[1]}`,
        mime_type: m.mime,
        sha256: m.sha256,
        file_size: String(m.declaredSize),
        id: info[1],
      });
    }
    const upload = /^\/v\d+\.\d+\/([^/]+)\/media$/.exec(url.pathname);
    if (upload && req.method === "POST") {
      // Like the Cloud API's upload: multipart with messaging_product, type and file; answers the media id.
      if (upload[1] !== phoneNumberId) return fail(400, 100, "(#100) Invalid parameter");
      const form = await new Response(bytes, { headers: { "content-type": req.headers["content-type"] ?? "" } })
        .formData()
        .catch(() => null);
      const f = form?.get("file");
      if (form?.get("messaging_product") !== "whatsapp" || !(f instanceof Blob))
        return fail(400, 100, "(#100) The parameter messaging_product and a file are required.");
      const id = String(2000000000000000 + server.uploads.length);
      const data = new Uint8Array(await f.arrayBuffer());
      media.set(id, { data, mime: f.type, sha256: "", declaredSize: data.byteLength });
      server.uploads.push(id);
      return reply(200, { id });
    }
    const send = /^\/v\d+\.\d+\/([^/]+)\/messages$/.exec(url.pathname);
    if (!send || req.method !== "POST")
      return fail(400, 100, `Unsupported ${req.method} request. Object with ID '${url.pathname}' does not exist`);
    if (send[1] !== phoneNumberId)
      return fail(
        400,
        100,
        `Unsupported post request. Object with ID '${send[1]}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`,
      );
    if (body.messaging_product !== "whatsapp")
      return fail(400, 100, "(#100) The parameter messaging_product is required.");

    if (body.status === "read") {
      if (typeof body.message_id !== "string" || !body.message_id)
        return fail(400, 100, "(#100) The parameter message_id is required.");
      const typing = (body.typing_indicator as { type?: string } | undefined)?.type === "text";
      server.reads.push({ messageId: body.message_id, typing, at: Date.now() });
      return reply(200, { success: true });
    }

    const failure = failures.shift();
    if (failure) {
      call.status = failure.status;
      if (failure.retryAfter !== undefined) res.setHeader("retry-after", String(failure.retryAfter));
      return graphError(res, failure.status, failure.code, failure.message ?? "(#130429) Rate limit hit");
    }
    const to = typeof body.to === "string" ? body.to : "";
    if (!to) return fail(400, 100, "(#100) The parameter to is required.");
    let text = "";
    let buttons: SentMessage["buttons"] = [];
    let fileOf: SentMessage["file"];
    if (body.type === "text") {
      const t = (body.text as { body?: unknown } | undefined)?.body;
      if (typeof t !== "string" || !t) return fail(400, 100, "(#100) The parameter text['body'] is required.");
      if (t.length > 4096) return fail(400, 100, "(#100) Param text['body'] must be at most 4096 characters long.");
      text = t;
    } else if (body.type === "interactive") {
      const it = body.interactive as
        | {
            type?: string;
            body?: { text?: string };
            action?: { buttons?: { type?: string; reply?: { id?: string; title?: string } }[] };
          }
        | undefined;
      if (it?.type !== "button")
        return fail(400, 100, "(#100) Only reply-button interactive messages are served by this stand-in");
      const t = it.body?.text ?? "";
      if (!t || t.length > 1024)
        return fail(400, 131009, "(#131009) Parameter value is not valid", "body.text must be 1 to 1024 characters");
      const bs = it.action?.buttons ?? [];
      if (bs.length < 1 || bs.length > 3)
        return fail(400, 131009, "(#131009) Parameter value is not valid", "buttons must be 1 to 3");
      for (const b of bs) {
        const title = b.reply?.title ?? "";
        const id = b.reply?.id ?? "";
        if (b.type !== "reply" || !title || title.length > 20 || !id || id.length > 256)
          return fail(
            400,
            131009,
            "(#131009) Parameter value is not valid",
            "a reply button needs an id (256) and a title (20)",
          );
      }
      if (new Set(bs.map((b) => b.reply?.id)).size !== bs.length)
        return fail(400, 131009, "(#131009) Parameter value is not valid", "button ids must be unique");
      text = t;
      buttons = bs.map((b) => ({ id: b.reply!.id!, title: b.reply!.title! }));
    } else if (body.type === "image" || body.type === "document" || body.type === "audio") {
      const m = body[body.type] as { id?: string; caption?: string; filename?: string; voice?: boolean } | undefined;
      const up = m?.id ? media.get(m.id) : undefined;
      if (!up) return fail(400, 131053, "(#131053) Media upload error", "the media id is not one of this number's");
      // A voice note must be Ogg/Opus, as WhatsApp plays them.
      if (m?.voice && !(up.mime === "audio/ogg" && Buffer.from(up.data).subarray(0, 4).toString("latin1") === "OggS"))
        return fail(400, 131053, "(#131053) Media upload error", "a voice note must be audio/ogg with the Opus codec");
      text = m?.caption ?? "";
      fileOf = { data: up.data, mime: up.mime, ...(m?.filename ? { filename: m.filename } : {}) };
    } else return fail(400, 100, `(#100) Unsupported message type ${String(body.type)}`);
    if (server.closedWindow.has(to))
      return fail(
        400,
        131047,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
      );

    const sent: SentMessage = {
      id: wamid(),
      to,
      type: String(body.type),
      text,
      buttons,
      opaque: typeof body.biz_opaque_callback_data === "string" ? body.biz_opaque_callback_data : undefined,
      at: Date.now(),
      ...(fileOf ? { file: fileOf } : {}),
    };
    server.messages.push(sent);
    await server.intercept?.(call);
    if (server.autoSent && server.webhookUrl) {
      // Meta reports `sent` on its own time, again until agentd answers 200 (it may be down right now).
      const p = server.report(sent.id, "sent", { tries: 60 });
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
    if (dropNext) {
      dropNext = false;
      call.status = 200;
      return void res.destroy();
    }
    reply(200, { messaging_product: "whatsapp", contacts: [{ input: to, wa_id: to }], messages: [{ id: sent.id }] });
  }

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(0, "127.0.0.1", resolve);
  });
  server.url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  return server;
}

function graphError(res: ServerResponse, status: number, code: number, message: string, details?: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      error: {
        message,
        type: "OAuthException",
        code,
        ...(details ? { error_data: { messaging_product: "whatsapp", details } } : {}),
        fbtrace_id: randomBytes(8).toString("base64url"),
      },
    }),
  );
}

// ---- Meta's side of the webhook ----

/** The body as Meta sends it: JSON with every non-ASCII character escaped (\uXXXX). */
export const webhookBody = (payload: unknown) =>
  JSON.stringify(payload).replace(/[^\0-~]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
/** X-Hub-Signature-256 for a body: an HMAC-SHA256 of its exact bytes with the app secret. */
export const signBody = (appSecret: string, raw: string) =>
  `sha256=${createHmac("sha256", appSecret).update(raw).digest("hex")}`;

/** Posts a payload to a webhook URL, signed like Meta; resolves with the HTTP status. */
export async function postSigned(url: string, appSecret: string, payload: unknown): Promise<number> {
  const raw = webhookBody(payload);
  const res = await fetch(url, {
    method: "POST",
    body: raw,
    headers: { "content-type": "application/json", "x-hub-signature-256": signBody(appSecret, raw) },
  });
  await res.arrayBuffer();
  return res.status;
}

const envelope = (phoneNumberId: string, value: Record<string, unknown>) => ({
  object: "whatsapp_business_account",
  entry: [
    {
      id: "102290129340398",
      changes: [
        {
          field: "messages",
          value: {
            messaging_product: "whatsapp",
            metadata: { display_phone_number: "15550783881", phone_number_id: phoneNumberId },
            ...value,
          },
        },
      ],
    },
  ],
});

let seq = 0;
export const inboundId = () => `wamid.HBgL${(++seq).toString(16).padStart(8, "0")}${randomBytes(6).toString("hex")}`;

/** A message from a person as Meta's webhook carries it: `content` is the type-specific part (`{ type: "text", text: { body } }`, …). */
export function messagePayload(
  phoneNumberId: string,
  from: string,
  content: Record<string, unknown>,
  o: { id?: string; name?: string } = {},
) {
  return envelope(phoneNumberId, {
    contacts: [{ profile: { name: o.name ?? "Alice" }, wa_id: from }],
    messages: [{ from, id: o.id ?? inboundId(), timestamp: String(Math.floor(Date.now() / 1000)), ...content }],
  });
}

/** Several messages in one POST (Meta batches them when they arrive together). */
export function batchPayload(phoneNumberId: string, from: string, contents: Record<string, unknown>[]) {
  return envelope(phoneNumberId, {
    contacts: [{ profile: { name: "Alice" }, wa_id: from }],
    messages: contents.map((c) => ({ from, id: inboundId(), timestamp: String(Math.floor(Date.now() / 1000)), ...c })),
  });
}

export function statusPayload(
  phoneNumberId: string,
  s: { id: string; status: string; to: string; opaque?: string; errorCode?: number },
) {
  return envelope(phoneNumberId, {
    statuses: [
      {
        id: s.id,
        status: s.status,
        timestamp: String(Math.floor(Date.now() / 1000)),
        recipient_id: s.to,
        ...(s.opaque ? { biz_opaque_callback_data: s.opaque } : {}),
        ...(s.errorCode
          ? {
              errors: [
                {
                  code: s.errorCode,
                  title: "Re-engagement message",
                  message: "Re-engagement message",
                  error_data: { details: "more than 24 hours have passed" },
                },
              ],
            }
          : {}),
        ...(s.status === "failed"
          ? {}
          : { pricing: { billable: false, pricing_model: "PMP", category: "service", type: "free_customer_service" } }),
      },
    ],
  });
}
