// A local stand-in for Twilio's Messages API: the real REST shape on a real socket (form body,
// Basic auth, JSON answers and errors like Twilio's), so the real `twilio` client runs its production
// HTTP path. Scriptable failures (429, 500), recorded calls, the message log (GET Messages.json),
// signed status callbacks, and media behind Basic auth that redirects to a second, credential-free
// "storage" origin like Twilio's signed S3 URLs.
import { randomBytes } from "node:crypto";
import twilio from "twilio";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SentMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  at: number;
  statusCallback?: string;
  /** The file an MMS (or WhatsApp media message) carries: the URL Twilio fetches it from. */
  mediaUrl?: string;
}
export interface TwilioCall {
  method: string;
  path: string;
  status: number;
  form: Record<string, string>;
}
export interface TwilioServer {
  /** The origin to point the client at: http://127.0.0.1:PORT */
  url: string;
  accountSid: string;
  authToken: string;
  /** Every request, in order, with the status it got. */
  calls: TwilioCall[];
  /** Messages accepted (status 201). */
  messages: SentMessage[];
  /** The next message creations fail with these statuses, in order (429, 500, …). */
  failNext(...statuses: number[]): void;
  /** The next message creation is accepted (recorded) but its answer never arrives: the connection is dropped. */
  dropNextAnswer(): void;
  /** While true, message creations get no answer and are not recorded (the network to Twilio stalls). */
  stalled: boolean;
  /** Posts a status callback for a sent message to its StatusCallback URL, signed like Twilio; resolves with the HTTP status. */
  report(sid: string, status: string, errorCode?: string): Promise<number>;
  /** Serves bytes as a media file of a message; returns the MediaUrl Twilio would put in the webhook (on api.twilio.com). */
  addMedia(data: Uint8Array, mime: string): string;
  /**
   * Called for each authenticated media request and each accepted message (recorded, not yet answered):
   * a crash test kills agentd here, inside the download or the API call.
   */
  intercept?: (call: TwilioCall) => void | Promise<void>;
  /** Requests the storage origin got (the redirect target of media URLs), with their Authorization header if any. */
  storageCalls: { path: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

const sidOf = (prefix: string) => prefix + randomBytes(16).toString("hex");

export async function startTwilioServer(opts: { accountSid?: string; authToken?: string } = {}): Promise<TwilioServer> {
  const accountSid = opts.accountSid ?? sidOf("AC");
  const authToken = opts.authToken ?? randomBytes(16).toString("hex");
  const failures: number[] = [];
  let dropNext = false;
  const media = new Map<string, { data: Uint8Array; mime: string }>();
  const storage = createServer((req, res) => {
    server.storageCalls.push({ path: req.url ?? "", authorization: req.headers.authorization });
    const m = media.get(new URL(req.url ?? "/", "http://x").pathname.slice(1));
    if (!m) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": m.mime, "content-length": String(m.data.byteLength) });
    res.end(m.data);
  });
  await new Promise<void>((resolve) => storage.listen(0, "127.0.0.1", resolve));
  const storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
  const httpServer = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) error(res, 500, 20500, String(e));
      else res.destroy();
    });
  });
  const server: TwilioServer = {
    url: "",
    accountSid,
    authToken,
    calls: [],
    messages: [],
    failNext: (...s) => void failures.push(...s),
    dropNextAnswer: () => void (dropNext = true),
    stalled: false,
    storageCalls: [],
    async report(sid, status, errorCode) {
      const m = server.messages.find((x) => x.sid === sid);
      if (!m?.statusCallback) throw new Error(`no StatusCallback for ${sid}`);
      const params: Record<string, string> = {
        AccountSid: accountSid,
        ApiVersion: "2010-04-01",
        From: m.from,
        To: m.to,
        MessageSid: sid,
        SmsSid: sid,
        MessageStatus: status,
        SmsStatus: status,
        ...(errorCode ? { ErrorCode: errorCode } : {}),
      };
      const res = await fetch(m.statusCallback, {
        method: "POST",
        body: new URLSearchParams(params).toString(),
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-twilio-signature": twilio.getExpectedTwilioSignature(authToken, m.statusCallback, params),
        },
      });
      await res.arrayBuffer();
      return res.status;
    },
    addMedia(data, mime) {
      const id = sidOf("ME");
      media.set(id, { data, mime });
      return `https://api.twilio.com/2010-04-01/Accounts/${accountSid}/Messages/${sidOf("MM")}/Media/${id}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        storage.close();
        storage.closeAllConnections();
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      }),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form: Record<string, string> = Object.fromEntries(
      new URLSearchParams(Buffer.concat(chunks).toString("utf8")),
    );
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const call: TwilioCall = { method: req.method ?? "", path, status: 0, form };
    server.calls.push(call);
    const reply = (status: number, body: unknown) => {
      call.status = status;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const auth = req.headers.authorization ?? "";
    const [user, pass] = Buffer.from(auth.replace(/^Basic /, ""), "base64")
      .toString("utf8")
      .split(":");
    const authentic = auth.startsWith("Basic ") && user === accountSid && pass === authToken;
    const mediaPath = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/[^/]+\/Media\/([^/]+)$/.exec(path);
    if (mediaPath && req.method === "GET") {
      if (!authentic || mediaPath[1] !== accountSid) return reply(401, twErr(401, 20003, "Authenticate"));
      if (!media.has(mediaPath[2] as string))
        return reply(404, twErr(404, 20404, "The requested resource was not found"));
      await server.intercept?.(call);
      // Like Twilio: a redirect to a short-lived URL on storage that needs (and must get) no credentials.
      call.status = 307;
      res.writeHead(307, { location: `${storageUrl}/${mediaPath[2]}` });
      return void res.end();
    }
    const account = /^\/2010-04-01\/Accounts\/([^/]+)\.json$/.exec(path);
    if (account && req.method === "GET") {
      if (!authentic || account[1] !== accountSid) return reply(401, twErr(401, 20003, "Authenticate"));
      return reply(200, {
        sid: accountSid,
        friendly_name: "agentd test account",
        status: "active",
        type: "Full",
        uri: path,
      });
    }
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (!m || (req.method !== "POST" && req.method !== "GET"))
      return reply(404, twErr(404, 20404, "The requested resource was not found"));
    if (!authentic || m[1] !== accountSid) return reply(401, twErr(401, 20003, "Authenticate"));
    if (req.method === "GET") {
      // The message log, newest first, filtered by To and From (what the crash look-up reads).
      const q = new URL(req.url ?? "/", "http://x").searchParams;
      const size = Number(q.get("PageSize") ?? 50);
      const list = server.messages
        .filter((x) => (!q.get("To") || x.to === q.get("To")) && (!q.get("From") || x.from === q.get("From")))
        .reverse()
        .slice(0, size);
      return reply(200, {
        messages: list.map((x) => resource(x)),
        end: list.length - 1,
        first_page_uri: path,
        next_page_uri: null,
        page: 0,
        page_size: size,
        previous_page_uri: null,
        start: 0,
        uri: path,
      });
    }
    if (server.stalled) return; // left open, unrecorded: the caller is killed or gives up
    const failure = failures.shift();
    if (failure === 429) {
      res.setHeader("retry-after", "0");
      return reply(429, twErr(429, 20429, "Too Many Requests"));
    }
    if (failure) return reply(failure, twErr(failure, 20500, "Internal Server Error"));
    const { To: to, From: from, Body: body = "" } = form;
    if (!to) return reply(400, twErr(400, 21604, "A 'To' phone number is required."));
    if (!from) return reply(400, twErr(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required"));
    if (!body && !form.MediaUrl) return reply(400, twErr(400, 21602, "Message body is required."));
    if (to.startsWith("whatsapp:") !== from.startsWith("whatsapp:"))
      return reply(400, twErr(400, 63007, "Twilio could not find a Channel with the specified From address"));
    // The Messages API's limit on Body, whatever the channel (WhatsApp's own 4,096 does not apply here).
    if (body.length > 1600)
      return reply(400, twErr(400, 21617, "The concatenated message body exceeds the 1600 character limit"));
    const sent: SentMessage = {
      sid: sidOf("SM"),
      to,
      from,
      body,
      at: Date.now(),
      ...(form.StatusCallback ? { statusCallback: form.StatusCallback } : {}),
      ...(form.MediaUrl ? { mediaUrl: form.MediaUrl } : {}),
    };
    server.messages.push(sent);
    await server.intercept?.(call);
    if (dropNext) {
      // Accepted, but the client never hears so: what a crash or a cut connection inside the call looks like.
      dropNext = false;
      call.status = 201;
      return void res.destroy();
    }
    reply(201, resource(sent));
  }

  function resource(x: SentMessage) {
    const at = new Date(x.at).toUTCString();
    return {
      account_sid: accountSid,
      api_version: "2010-04-01",
      body: x.body,
      date_created: at,
      date_sent: null,
      date_updated: at,
      direction: "outbound-api",
      error_code: null,
      error_message: null,
      from: x.from,
      messaging_service_sid: null,
      num_media: "0",
      num_segments: String(Math.ceil(x.body.length / 153) || 1),
      price: null,
      price_unit: "USD",
      sid: x.sid,
      status: "queued",
      subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${x.sid}/Media.json` },
      to: x.to,
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${x.sid}.json`,
    };
  }

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(0, "127.0.0.1", resolve);
  });
  server.url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  return server;
}

function twErr(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function error(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(twErr(status, code, message)));
}
