// A local stand-in for the Telegram Bot API: the real HTTP protocol (`POST /bot<token>/<method>`,
// JSON or form bodies, `{ ok, result }` / `{ ok: false, error_code, description, parameters }`), so the
// real grammY client runs its production request and error paths against it.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseHtml } from "./telegram-html.ts";

export { parseHtml };

export interface RecordedCall {
  method: string;
  params: Record<string, any>;
  at: number;
  /** Set when flood control refused the call with 429. */
  floodRefused?: boolean;
}

export interface SentMessage {
  message_id: number;
  chat_id: string;
  text: string;
  /** A photo, document or voice note the bot sent (sendPhoto, sendDocument, sendVoice): its file name and bytes. */
  file?: { kind: "photo" | "document" | "voice"; filename: string; bytes: Buffer };
  parse_mode?: string;
  reply_markup?: any;
  deleted?: boolean;
}

export interface TelegramServer {
  /** The apiRoot to give grammY (`client: { apiRoot }`). */
  apiRoot: string;
  token: string;
  calls: RecordedCall[];
  /** Every message the bot sent or edited, by message id (its latest text). */
  messages: Map<number, SentMessage>;
  callsOf(method: string): RecordedCall[];
  /** Makes the next call of `method` fail with 429 and `retry_after` seconds. */
  rateLimitNext(method: string, retryAfterSeconds: number): void;
  /** How many long polls were ended by another getUpdates caller (409 Conflict): more than one poller of the bot. */
  conflicts: number;
  /** Makes the next call of `method` fail with this HTTP status (a 5xx: Telegram's own trouble). */
  failNext(method: string, status: number): void;
  /** The messages a person in `chatId` sees now (sent, not deleted), oldest first. */
  visible(chatId: string | number): SentMessage[];
  /** The latest draft streamed to each private chat (sendMessageDraft), by chat id. */
  drafts: Map<string, { draft_id: number; text: string }>;
  /** Answers sendMessageDraft with 400, as for a chat or bot that can't show drafts. */
  draftsUnsupported: boolean;
  /** Queues an update for getUpdates (long polling); the update id is assigned when missing. */
  push(update: Record<string, any>): number;
  webhook: { url: string; secret_token?: string } | null;
  /** How many calls flood control refused with 429. */
  floodRefusals: number;
  /** Refuses the next this-many calls that use a parse mode with "can't parse entities", whatever their markup. */
  refuseMarkup: number;
  /** Registers a file the bot can fetch (getFile, then GET /file/bot<token>/<file_path>); put its ids in an update. */
  addFile(bytes: Uint8Array, opts?: { extension?: string }): TelegramFile;
  /** Every file download, by file_path, in order. */
  downloads: string[];
  close(): Promise<void>;
}

export interface TelegramFile {
  file_id: string;
  file_unique_id: string;
  file_size: number;
  file_path: string;
}

/** The largest file Telegram lets a bot download (getFile refuses bigger ones). */
const MAX_DOWNLOAD = 20 * 1024 * 1024;

const MAX_TEXT = 4096;
const BOT = {
  id: 7000001,
  is_bot: true,
  first_name: "Agentd Test",
  username: "agentd_test_bot",
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
};

/**
 * `port`: a fixed port (to come up where a client already tries to connect). `perChatPerSecond`: Telegram's flood control, roughly: more sends, edits or drafts than this to one
 * chat within a second get 429 with `retry_after` 1.
 */
export async function startTelegramServer(
  opts: { token?: string; perChatPerSecond?: number; port?: number } = {},
): Promise<TelegramServer> {
  const token = opts.token ?? "123456:TEST-token";
  const scripted = new Map<string, number[]>();
  const failing = new Map<string, number[]>();
  const queue: Record<string, any>[] = [];
  const waiters = new Set<() => void>();
  let nextMessageId = 1;
  let nextUpdateId = 1000;
  const flood = new Map<string, number[]>();
  const files = new Map<string, { file: TelegramFile; bytes: Uint8Array }>();

  const server: TelegramServer = {
    apiRoot: "",
    token,
    calls: [],
    messages: new Map(),
    visible: (chatId) =>
      [...server.messages.values()]
        .filter((m) => m.chat_id === String(chatId) && !m.deleted)
        .sort((a, b) => a.message_id - b.message_id),
    drafts: new Map(),
    draftsUnsupported: false,
    callsOf: (method) => server.calls.filter((c) => c.method === method),
    rateLimitNext(method, retryAfterSeconds) {
      const list = scripted.get(method) ?? [];
      list.push(retryAfterSeconds);
      scripted.set(method, list);
    },
    failNext(method, status) {
      failing.set(method, [...(failing.get(method) ?? []), status]);
    },
    push(update) {
      const u = { ...update, update_id: update.update_id ?? nextUpdateId++ };
      queue.push(u);
      for (const w of waiters) w();
      return u.update_id as number;
    },
    webhook: null,
    floodRefusals: 0,
    conflicts: 0,
    refuseMarkup: 0,
    addFile(bytes, opts = {}) {
      const n = files.size + 1;
      const file: TelegramFile = {
        file_id: `FILE-${n}-${Math.random().toString(36).slice(2, 10)}`,
        file_unique_id: `U${n}`,
        file_size: bytes.byteLength,
        file_path: `documents/file_${n}.${opts.extension ?? "bin"}`,
      };
      files.set(file.file_id, { file, bytes });
      return file;
    },
    downloads: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of waiters) w();
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      }),
  };

  const fail = (res: ServerResponse, code: number, description: string, parameters?: object) =>
    send(res, code, { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) });
  const ok = (res: ServerResponse, result: unknown) => send(res, 200, { ok: true, result });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(new URL(req.url ?? "/", "http://x").pathname);
    if (download) {
      // Like Telegram's file server: plain bytes, 404 without a JSON body for anything unknown.
      const file =
        download[1] === token ? [...files.values()].find((f) => f.file.file_path === download[2]) : undefined;
      if (req.method !== "GET" || !file) return void res.writeHead(404).end();
      server.downloads.push(file.file.file_path);
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": String(file.bytes.byteLength),
      });
      return void res.end(file.bytes);
    }
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url ?? "/", "http://x").pathname);
    if (!m) return fail(res, 404, "Not Found");
    if (m[1] !== token) return fail(res, 401, "Unauthorized");
    const method = m[2] as string;
    const params = parseParams(req.headers["content-type"] ?? "", raw);
    if (params === undefined) return fail(res, 400, "Bad Request: can't parse request body");
    const call: RecordedCall = { method, params, at: Date.now() };
    server.calls.push(call);
    const retry = scripted.get(method)?.shift();
    if (retry !== undefined) return fail(res, 429, `Too Many Requests: retry after ${retry}`, { retry_after: retry });
    const failure = failing.get(method)?.shift();
    if (failure !== undefined) return fail(res, failure, "Internal Server Error");
    const chatId = params.chat_id === undefined ? undefined : String(params.chat_id);
    const message = (id: number, text: string) => ({
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      from: BOT,
      chat: { id: Number(chatId), type: Number(chatId) > 0 ? "private" : "group" },
      text,
    });
    if (chatId && opts.perChatPerSecond && ["sendMessage", "editMessageText", "sendMessageDraft"].includes(method)) {
      const now = Date.now();
      const recent = (flood.get(chatId) ?? []).filter((t) => t > now - 1000);
      if (recent.length >= opts.perChatPerSecond) {
        flood.set(chatId, recent);
        server.floodRefusals++;
        call.floodRefused = true;
        return fail(res, 429, "Too Many Requests: retry after 1", { retry_after: 1 });
      }
      flood.set(chatId, [...recent, now]);
    }
    // Telegram's limit counts the text after entity parsing: markup is not counted, and bad markup is refused.
    const parsed = params.parse_mode === "HTML" && typeof params.text === "string" ? parseHtml(params.text) : null;
    if (params.parse_mode && server.refuseMarkup > 0 && server.refuseMarkup--)
      return fail(res, 400, 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0');
    if (parsed && "error" in parsed) return fail(res, 400, `Bad Request: can't parse entities: ${parsed.error}`);
    const visibleLength = (text: string) => (parsed && "text" in parsed ? parsed.text.length : text.length);
    switch (method) {
      case "getMe":
        return ok(res, BOT);
      case "sendMessage": {
        const text = params.text === undefined ? "" : String(params.text);
        if (!chatId) return fail(res, 400, "Bad Request: chat not found");
        if (text.trim() === "") return fail(res, 400, "Bad Request: message text is empty");
        if (visibleLength(text) > MAX_TEXT) return fail(res, 400, "Bad Request: message is too long");
        const id = nextMessageId++;
        server.messages.set(id, {
          message_id: id,
          chat_id: chatId,
          text,
          ...(params.parse_mode ? { parse_mode: String(params.parse_mode) } : {}),
          ...(params.reply_markup ? { reply_markup: params.reply_markup } : {}),
        });
        server.drafts.delete(chatId); // a sent message ends the chat's draft
        return ok(res, message(id, text));
      }
      case "editMessageText": {
        const id = Number(params.message_id);
        const text = params.text === undefined ? "" : String(params.text);
        const prev = server.messages.get(id);
        if (!prev || prev.chat_id !== chatId || prev.deleted)
          return fail(res, 400, "Bad Request: message to edit not found");
        if (text.trim() === "") return fail(res, 400, "Bad Request: message text is empty");
        if (visibleLength(text) > MAX_TEXT) return fail(res, 400, "Bad Request: MESSAGE_TOO_LONG");
        if (
          prev.text === text &&
          JSON.stringify(prev.reply_markup ?? null) === JSON.stringify(params.reply_markup ?? null)
        )
          return fail(
            res,
            400,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
          );
        server.messages.set(id, { ...prev, text, reply_markup: params.reply_markup });
        return ok(res, message(id, text));
      }
      case "deleteMessage": {
        const prev = server.messages.get(Number(params.message_id));
        if (!prev || prev.chat_id !== chatId || prev.deleted)
          return fail(res, 400, "Bad Request: message to delete not found");
        prev.deleted = true;
        return ok(res, true);
      }
      case "sendMessageDraft": {
        if (!chatId || Number(chatId) <= 0 || server.draftsUnsupported)
          return fail(res, 400, "Bad Request: TEXTDRAFT_PEER_INVALID");
        const draftId = Number(params.draft_id);
        if (!Number.isInteger(draftId) || draftId === 0)
          return fail(res, 400, "Bad Request: draft_id must be non-zero");
        const text = params.text === undefined ? "" : String(params.text);
        if (visibleLength(text) > MAX_TEXT) return fail(res, 400, "Bad Request: TEXT_TOO_LONG");
        server.drafts.set(chatId, { draft_id: draftId, text });
        return ok(res, true);
      }
      case "sendPhoto":
      case "sendVoice":
      case "sendDocument": {
        const field = method === "sendPhoto" ? "photo" : method === "sendVoice" ? "voice" : "document";
        const ref = /^attach:\/\/(.+)$/.exec(String(params[field] ?? ""));
        const upload = ref ? (params[ref[1] as string] as Upload | undefined) : undefined;
        if (!chatId) return fail(res, 400, "Bad Request: chat not found");
        if (!upload?.bytes) return fail(res, 400, `Bad Request: there is no ${field} in the request`);
        // A voice note plays only as Ogg/Opus (Telegram refuses other audio there).
        if (
          field === "voice" &&
          !(upload.bytes.subarray(0, 4).toString("latin1") === "OggS" && upload.bytes.includes("OpusHead"))
        )
          return fail(res, 400, "Bad Request: wrong type of the voice file: it must be OGG encoded with OPUS");
        const id = nextMessageId++;
        const kind = field;
        server.messages.set(id, { message_id: id, chat_id: chatId, text: "", file: { kind, ...upload } });
        return ok(res, message(id, ""));
      }
      case "sendChatAction":
      case "answerCallbackQuery":
        return ok(res, true);
      case "setWebhook":
        server.webhook = {
          url: String(params.url),
          ...(params.secret_token ? { secret_token: String(params.secret_token) } : {}),
        };
        return ok(res, true);
      case "deleteWebhook":
        server.webhook = null;
        return ok(res, true);
      case "getUpdates": {
        const updates = await getUpdates(params, req);
        if (updates === CONFLICT) {
          server.conflicts++;
          return fail(
            res,
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
          );
        }
        return ok(res, updates);
      }
      case "getFile": {
        const f = files.get(String(params.file_id ?? ""));
        if (!f) return fail(res, 400, "Bad Request: invalid file_id");
        if (f.file.file_size > MAX_DOWNLOAD) return fail(res, 400, "Bad Request: file is too big");
        return ok(res, f.file);
      }
      default:
        return fail(res, 404, "Not Found: method not found");
    }
  }

  /** The long poll waiting now: like Telegram, a second caller ends it with 409 Conflict. */
  let polling: (() => void) | null = null;
  async function getUpdates(params: Record<string, any>, req: IncomingMessage): Promise<unknown[] | typeof CONFLICT> {
    if (server.webhook) return []; // Telegram refuses getUpdates while a webhook is set; close enough for tests
    polling?.();
    let conflicted = false;
    const mine = () => {
      conflicted = true;
      for (const w of [...waiters]) w();
    };
    polling = mine;
    try {
      return await waitForUpdates(params, req, () => conflicted);
    } finally {
      if (polling === mine) polling = null;
    }
  }

  async function waitForUpdates(
    params: Record<string, any>,
    req: IncomingMessage,
    conflicted: () => boolean,
  ): Promise<unknown[] | typeof CONFLICT> {
    const offset = Number(params.offset ?? 0);
    // Confirming: every update below the offset is gone for good.
    while (queue.length > 0 && offset > 0 && (queue[0]!.update_id as number) < offset) queue.shift();
    const deadline = Date.now() + Math.min(Number(params.timeout ?? 0), 50) * 1000;
    while (queue.length === 0 && Date.now() < deadline && !req.destroyed && httpServer.listening && !conflicted()) {
      await new Promise<void>((resolve) => {
        const done = () => {
          waiters.delete(done);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
        waiters.add(done);
        req.once("close", done);
      });
    }
    if (conflicted()) return CONFLICT;
    return queue.slice(0, Number(params.limit ?? 100));
  }

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) fail(res, 500, `Internal Server Error: ${String(e)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(opts.port ?? 0, "127.0.0.1", resolve);
  });
  server.apiRoot = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  return server;
}

const CONFLICT = Symbol("conflict");

function send(res: ServerResponse, status: number, body: unknown) {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** The body as text; a multipart body as latin1, one character per byte, so its files keep their bytes. */
async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const multipart = (req.headers["content-type"] ?? "").includes("multipart/form-data");
  return Buffer.concat(chunks).toString(multipart ? "latin1" : "utf8");
}

/** A file uploaded in a multipart body, as grammY sends an InputFile (`attach://<field>`). */
interface Upload {
  filename: string;
  bytes: Buffer;
}

/** JSON or form bodies, as the Bot API accepts them; nested values in forms are JSON-encoded. */
function parseParams(contentType: string, raw: string): Record<string, any> | undefined {
  if (raw === "") return {};
  if (contentType.includes("application/json")) {
    try {
      const v = JSON.parse(raw);
      return v && typeof v === "object" ? v : undefined;
    } catch {
      return undefined;
    }
  }
  if (contentType.includes("application/x-www-form-urlencoded")) {
    const out: Record<string, any> = {};
    for (const [k, v] of new URLSearchParams(raw)) out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
    return out;
  }
  if (contentType.includes("multipart/form-data")) {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
    if (!boundary) return undefined;
    const out: Record<string, any> = {};
    for (const part of raw.split(`--${boundary[1] ?? boundary[2]}`)) {
      const name = /name="([^"]+)"/.exec(part);
      const sep = part.indexOf("\r\n\r\n");
      if (!name || sep < 0) continue;
      const filename = /filename="?([^"\r\n;]+)"?/.exec(part.slice(0, sep));
      const body = part.slice(sep + 4).replace(/\r\n$/, "");
      if (filename) {
        out[name[1] as string] = { filename: filename[1] ?? "", bytes: Buffer.from(body, "latin1") } satisfies Upload;
        continue;
      }
      const v = Buffer.from(body, "latin1").toString("utf8");
      out[name[1] as string] = /^[[{]/.test(v) ? safeJson(v) : v;
    }
    return out;
  }
  return undefined;
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
