// A local stand-in for an OpenAI-compatible model server: the real Chat Completions protocol on a
// real socket, so the real `@ai-sdk/openai` provider runs its production HTTP, SSE and error paths.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface ScriptedToolCall {
  name: string;
  /** An object is JSON-encoded when sent; a string is sent as-is (to test bad JSON). */
  arguments: unknown;
  id?: string;
}
export interface ScriptedReply {
  text?: string;
  toolCalls?: ScriptedToolCall[];
  usage?: { prompt?: number; completion?: number };
  status?: number;
  retryAfterSeconds?: number;
  /** Counts content chunks (text and tool-call pieces); the opening role chunk is not counted. */
  breakAfterChunks?: number;
  stallAfterChunks?: number;
  tokenDelayMs?: number;
  firstTokenDelayMs?: number;
  /** The whole stream in one write (so the client reads its chunks together); no delays. */
  oneWrite?: boolean;
}
export interface RecordedRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: any;
  at: number;
  /** The whole answer was sent (a call paid for); false while it streams, or when cut off. */
  completed: boolean;
}
type Script = ScriptedReply | ((req: RecordedRequest) => ScriptedReply);
export interface ModelServer {
  url: string;
  calls: number;
  requests: RecordedRequest[];
  /** Queue replies for the next completion requests, in order; the `fallback` answers when it is empty. */
  script(...replies: Script[]): void;
  fallback: (req: RecordedRequest) => ScriptedReply;
  reset(): void;
  close(): Promise<void>;
}
export interface ModelServerOptions {
  tokenDelayMs?: number;
  chunkChars?: number;
  apiKey?: string;
  port?: number;
}

/** Starts the stand-in on 127.0.0.1 (a free port unless `port` is given). */
export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const queue: Script[] = [];
  const httpServer = createServer((req, res) => {
    handle(server, queue, options, req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, String(error));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const { port } = httpServer.address() as AddressInfo;
  const server: ModelServer = {
    url: `http://127.0.0.1:${port}/v1`,
    calls: 0,
    requests: [],
    script: (...replies) => void queue.push(...replies),
    fallback: (req) => ({ text: `ok: ${lastUserText(req.body)}` }),
    reset() {
      queue.length = 0;
      server.calls = 0;
      server.requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        // Stalled streams never end by themselves; cut them so close() cannot hang.
        httpServer.closeAllConnections();
      }),
  };
  return server;
}

async function handle(
  server: ModelServer,
  queue: Script[],
  options: ModelServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const raw = await readBody(req);
  const path = new URL(req.url ?? "/", "http://x").pathname;
  if (path.startsWith("/__")) return control(server, queue, path, raw, res);
  const recorded: RecordedRequest = {
    path,
    headers: req.headers,
    raw,
    body: parseJson(raw),
    at: Date.now(),
    completed: false,
  };
  res.on("finish", () => {
    recorded.completed = true;
  });
  server.requests.push(recorded);
  if (path === "/v1/chat/completions") server.calls++;
  if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
    // The presented key is never echoed, so test logs cannot leak it.
    return sendError(res, 401);
  }
  if (req.method === "GET" && path === "/v1/models") return sendJson(res, 200, models());
  if (req.method !== "POST") return sendError(res, 404, `Unknown request URL: ${req.method} ${path}`);
  if (recorded.body === undefined) return sendError(res, 400, "We could not parse the JSON body of your request.");
  if (path === "/v1/embeddings") return sendJson(res, 200, embeddings(recorded.body));
  if (path !== "/v1/chat/completions") return sendError(res, 404, `Unknown request URL: POST ${path}`);
  const next = queue.shift() ?? server.fallback;
  const reply = typeof next === "function" ? next(recorded) : next;
  const timing = { chunkChars: options.chunkChars ?? 4, tokenDelayMs: reply.tokenDelayMs ?? options.tokenDelayMs ?? 0 };
  if (reply.status !== undefined) return sendError(res, reply.status, undefined, reply.retryAfterSeconds);
  if (recorded.body.stream === true) return streamCompletion(res, recorded, reply, timing);
  return completeAtOnce(res, recorded, reply, timing);
}

// ---- chat completions ------------------------------------------------------------------------

interface Timing {
  chunkChars: number;
  tokenDelayMs: number;
}
type Delta = { role?: "assistant"; content?: string | null; tool_calls?: object[] };

let sequence = 0;

/** The reply as a real model streams it: text pieces, then each tool call. */
function deltas(reply: ScriptedReply, chunkChars: number, callIds: string[]): Delta[] {
  const out: Delta[] = pieces(reply.text ?? "", chunkChars).map((content) => ({ content }));
  (reply.toolCalls ?? []).forEach((call, index) => {
    // OpenAI opens a call with id, type, name and empty arguments, then streams arguments by index.
    out.push({
      tool_calls: [{ index, id: callIds[index], type: "function", function: { name: call.name, arguments: "" } }],
    });
    for (const piece of pieces(encodeArguments(call), chunkChars))
      out.push({ tool_calls: [{ index, function: { arguments: piece } }] });
  });
  return out;
}

async function streamCompletion(res: ServerResponse, req: RecordedRequest, reply: ScriptedReply, timing: Timing) {
  const base = {
    id: `chatcmpl-${++sequence}`,
    object: "chat.completion.chunk",
    created: nowSeconds(),
    model: modelOf(req),
    system_fingerprint: null,
  };
  const frame = (delta: Delta | Record<string, never>, finish: string | null = null) =>
    sse(res, { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  const callIds = toolCallIds(reply);
  const frames = deltas(reply, timing.chunkChars, callIds);
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  if (reply.oneWrite) {
    const event = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
    const chunk = (delta: Delta | Record<string, never>, finish: string | null = null) =>
      event({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    const all = [
      chunk({ role: "assistant", content: reply.toolCalls?.length && !reply.text ? null : "" }),
      ...frames.map((f) => chunk(f)),
      chunk({}, finishReason(reply)),
      ...(req.body.stream_options?.include_usage === true
        ? [event({ ...base, choices: [], usage: usage(req, reply) })]
        : []),
      "data: [DONE]\n\n",
    ];
    return void res.end(all.join(""));
  }
  // Like OpenAI: the role arrives first with empty content (null when the reply is only tool calls).
  await frame({ role: "assistant", content: reply.toolCalls?.length && !reply.text ? null : "" });
  for (let i = 0; i <= frames.length; i++) {
    if (i === reply.breakAfterChunks) return void res.socket?.destroy();
    if (i === reply.stallAfterChunks) return; // the socket stays open until close()
    if (i === frames.length) break;
    await pause(i === 0 ? (reply.firstTokenDelayMs ?? timing.tokenDelayMs) : timing.tokenDelayMs);
    if (res.destroyed) return; // the client went away (aborted)
    await frame(frames[i]!);
  }
  await frame({}, finishReason(reply));
  if (req.body.stream_options?.include_usage === true)
    await sse(res, { ...base, choices: [], usage: usage(req, reply) });
  res.end("data: [DONE]\n\n");
}

async function completeAtOnce(res: ServerResponse, req: RecordedRequest, reply: ScriptedReply, timing: Timing) {
  const callIds = toolCallIds(reply);
  const chunks = deltas(reply, timing.chunkChars, callIds).length;
  // A whole answer takes as long as its stream would, so latency-sensitive benchmarks stay honest.
  await pause((reply.firstTokenDelayMs ?? 0) + chunks * timing.tokenDelayMs);
  if (reply.breakAfterChunks !== undefined) return void res.socket?.destroy();
  if (reply.stallAfterChunks !== undefined || res.destroyed) return;
  const toolCalls = (reply.toolCalls ?? []).map((call, i) => ({
    id: callIds[i],
    type: "function",
    function: { name: call.name, arguments: encodeArguments(call) },
  }));
  const message = {
    role: "assistant",
    content: reply.text ?? null,
    refusal: null,
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
  };
  sendJson(res, 200, {
    id: `chatcmpl-${++sequence}`,
    object: "chat.completion",
    created: nowSeconds(),
    model: modelOf(req),
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(reply) }],
    usage: usage(req, reply),
  });
}

function usage(req: RecordedRequest, reply: ScriptedReply) {
  const prompt = reply.usage?.prompt ?? Math.ceil(Buffer.byteLength(req.raw) / 4);
  // Tool-call arguments are generated tokens too.
  const generated =
    (reply.text ?? "").length + (reply.toolCalls ?? []).reduce((n, c) => n + encodeArguments(c).length, 0);
  const completion = reply.usage?.completion ?? Math.ceil(generated / 4);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

const finishReason = (reply: ScriptedReply) => (reply.toolCalls?.length ? "tool_calls" : "stop");
const encodeArguments = (call: ScriptedToolCall) =>
  typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {});
const toolCallIds = (reply: ScriptedReply) => (reply.toolCalls ?? []).map((call) => call.id ?? `call_${++sequence}`);
const modelOf = (req: RecordedRequest) => (typeof req.body.model === "string" ? req.body.model : "mock-model");

/** Splits by code points, so a piece never cuts an emoji in half. */
function pieces(text: string, size: number): string[] {
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(""));
  return out;
}

function lastUserText(body: any): string {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const content = messages.findLast((m) => m?.role === "user")?.content;
  // The provider sends a lone text part as a string and anything richer as an array of parts.
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content
      .filter((p) => p?.type === "text")
      .map((p) => p.text)
      .join("");
  return "";
}

// ---- embeddings and models -------------------------------------------------------------------

function embeddings(body: any) {
  const inputs: string[] = (Array.isArray(body.input) ? body.input : [body.input]).map(String);
  const dimensions = typeof body.dimensions === "number" ? body.dimensions : 64;
  const tokens = inputs.reduce((n, text) => n + Math.ceil(text.length / 4), 0);
  return {
    object: "list",
    data: inputs.map((text, index) => ({ object: "embedding", index, embedding: embed(text, dimensions) })),
    model: body.model ?? "mock-embedding",
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** A normalised hashed bag of words: texts sharing words are near, so similarity tests mean something. */
export function embed(text: string, dimensions = 64): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) vector[fnv1a(word) % dimensions]! += 1;
  const norm = Math.hypot(...vector);
  if (norm === 0) return vector.map((_, i) => (i === 0 ? 1 : 0)); // a unit vector even for empty text
  return vector.map((v) => v / norm);
}

function fnv1a(word: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function models() {
  const model = (id: string) => ({ id, object: "model", created: 0, owned_by: "agentd-test" });
  return { object: "list", data: [model("mock-model"), model("mock-embedding")] };
}

// ---- control endpoints, for tests in another process ----------------------------------------

function control(server: ModelServer, queue: Script[], path: string, raw: string, res: ServerResponse) {
  if (path === "/__stats") return sendJson(res, 200, { calls: server.calls, requests: server.requests.length });
  const replies = parseJson(raw);
  if (path !== "/__script" || !Array.isArray(replies))
    return sendError(res, 400, "POST /__script takes a JSON array of replies");
  queue.push(...(replies as ScriptedReply[]));
  sendJson(res, 200, { queued: queue.length });
}

// ---- wire helpers ----------------------------------------------------------------------------

/** OpenAI's error `type` and `code` per status, which the provider and AI SDK use to classify errors. */
const errorKinds: Record<number, [type: string, code: string | null, message: string]> = {
  400: ["invalid_request_error", null, "Invalid request."],
  401: ["invalid_request_error", "invalid_api_key", "Incorrect API key provided."],
  404: ["invalid_request_error", "unknown_url", "Unknown request URL."],
  429: ["requests", "rate_limit_exceeded", "Rate limit reached for requests."],
  500: ["server_error", null, "The server had an error while processing your request."],
  503: ["server_error", null, "The engine is currently overloaded."],
};

function sendError(res: ServerResponse, status: number, message?: string, retryAfterSeconds?: number) {
  const [type, code, defaultMessage] = errorKinds[status] ?? (status >= 500 ? errorKinds[500]! : errorKinds[400]!);
  if (retryAfterSeconds !== undefined) res.setHeader("retry-after", String(retryAfterSeconds));
  sendJson(res, status, { error: { message: message ?? defaultMessage, type, param: null, code } });
}

function sendJson(res: ServerResponse, status: number, value: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

/** Resolves once the frame is handed to the socket, so a following destroy() cannot drop it. */
function sse(res: ServerResponse, value: unknown): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => res.write(`data: ${JSON.stringify(value)}\n\n`, () => resolve()));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

function parseJson(raw: string): any {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
// No timer at all for a zero delay: benchmarks stream thousands of chunks and a macrotask each adds up.
const pause = (ms: number) => (ms > 0 ? sleep(ms) : Promise.resolve());

// ---- as a process: `node model-server.ts --port N [--token-delay-ms N] [--api-key K]` ----------

if (import.meta.main) {
  const flag = (name: string) => {
    const i = process.argv.indexOf(name);
    return i === -1 ? undefined : process.argv[i + 1];
  };
  const number = (name: string) => (flag(name) === undefined ? undefined : Number(flag(name)));
  const server = await startModelServer({
    port: number("--port"),
    tokenDelayMs: number("--token-delay-ms"),
    apiKey: flag("--api-key"),
  });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
}
