// A local stand-in for Twilio's Messages API: the real REST shape on a real socket (form body,
// Basic auth, JSON answers and errors like Twilio's), so the real `twilio` client runs its production
// HTTP path. Scriptable failures (429, 500) and recorded calls.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SentMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  at: number;
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
  close(): Promise<void>;
}

const sidOf = (prefix: string) => prefix + randomBytes(16).toString("hex");

export async function startTwilioServer(opts: { accountSid?: string; authToken?: string } = {}): Promise<TwilioServer> {
  const accountSid = opts.accountSid ?? sidOf("AC");
  const authToken = opts.authToken ?? randomBytes(16).toString("hex");
  const failures: number[] = [];
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
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      }),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const call: TwilioCall = { method: req.method ?? "", path, status: 0, form };
    server.calls.push(call);
    const reply = (status: number, body: unknown) => {
      call.status = status;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (!m || req.method !== "POST") return reply(404, twErr(404, 20404, "The requested resource was not found"));
    const auth = req.headers.authorization ?? "";
    const [user, pass] = Buffer.from(auth.replace(/^Basic /, ""), "base64").toString("utf8").split(":");
    if (!auth.startsWith("Basic ") || user !== accountSid || pass !== authToken || m[1] !== accountSid)
      return reply(401, twErr(401, 20003, "Authenticate"));
    const failure = failures.shift();
    if (failure === 429) {
      res.setHeader("retry-after", "0");
      return reply(429, twErr(429, 20429, "Too Many Requests"));
    }
    if (failure) return reply(failure, twErr(failure, 20500, "Internal Server Error"));
    const { To: to, From: from, Body: body } = form;
    if (!to) return reply(400, twErr(400, 21604, "A 'To' phone number is required."));
    if (!from) return reply(400, twErr(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required"));
    if (!body) return reply(400, twErr(400, 21602, "Message body is required."));
    if (to.startsWith("whatsapp:") !== from.startsWith("whatsapp:")) return reply(400, twErr(400, 63007, "Twilio could not find a Channel with the specified From address"));
    const limit = to.startsWith("whatsapp:") ? 4096 : 1600;
    if (body.length > limit) return reply(400, twErr(400, 21617, `The concatenated message body exceeds the ${limit} character limit`));
    const sid = sidOf("SM");
    const now = new Date().toUTCString();
    server.messages.push({ sid, to, from, body, at: Date.now() });
    reply(201, {
      account_sid: accountSid, api_version: "2010-04-01", body, date_created: now, date_sent: null, date_updated: now,
      direction: "outbound-api", error_code: null, error_message: null, from, messaging_service_sid: null,
      num_media: "0", num_segments: String(Math.ceil(body.length / 153) || 1), price: null, price_unit: "USD",
      sid, status: "queued", subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
      to, uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
    });
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
