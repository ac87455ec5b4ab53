import type { LanguageModel } from "ai";
import { type BodyReader, type HttpAnswer, postStream } from "./model-http.ts";

// The OpenAI provider reads a streamed answer through six web streams a server-sent event (text
// decoder, event parser, JSON parse with a zod check of every chunk, a tee to catch an early error, its
// transform) before the AI SDK's own: some 40 % of a turn's CPU with a short answer. A plain answer
// (text, usage, finish reason) is read here in one pass instead, into the very parts the provider
// makes of it, but with the text of one network read in one part where the provider makes one a
// token (test/agent/openai-stream.test.ts feeds both the same bytes). The provider still builds
// and sends the request and judges every failed answer; anything else (tool calls, an error frame, a
// chunk its schema would refuse, a refusal, unusual framing) is handed back to it whole: it reads
// the answer again from its first byte and the parts already passed on are skipped.

type ChatModel = Extract<LanguageModel, { specificationVersion: "v4" }>;
type CallOptions = Parameters<ChatModel["doStream"]>[0];
type StreamResult = Awaited<ReturnType<ChatModel["doStream"]>>;
type Part = StreamResult["stream"] extends ReadableStream<infer P> ? P : never;

/** What the provider's chat model holds: its settings, from which a copy with another fetch is made. */
interface OpenAIChat extends ChatModel {
  config: { fetch?: typeof fetch } & Record<string, unknown>;
}

/** The OpenAI provider's chat model, its streamed answers read by `streamChat`; everything else is its own. */
export function leanChat(model: ChatModel): ChatModel {
  const real = model as OpenAIChat;
  return {
    specificationVersion: "v4",
    get provider() {
      return real.provider;
    },
    modelId: real.modelId,
    get supportedUrls() {
      return real.supportedUrls;
    },
    doGenerate: (o) => real.doGenerate(o),
    doStream: (o) => streamChat(real, o),
  };
}

/** The same model answering with `fetch` (a copy: concurrent calls each have their own). */
function withFetch(real: OpenAIChat, f: typeof fetch): OpenAIChat {
  const Model = real.constructor as new (id: string, config: OpenAIChat["config"]) => OpenAIChat;
  return new Model(real.modelId, { ...real.config, fetch: f });
}

/** Thrown through the provider by the fetch once a successful answer came: the provider builds nothing on it. */
class Answered {
  readonly url: string;
  readonly res: Response;
  constructor(url: string, res: Response) {
    this.url = url;
    this.res = res;
  }
}

/**
 * What a model's first streamed call taught: where it posts and the headers the provider sent (its
 * key, its user agents), the same on every call of the model made without headers of the call's own.
 * Its later calls are sent over node:http (model-http.ts), not through the provider and fetch.
 */
interface Learned {
  url: string;
  headers: Record<string, string>;
}
const learned = new WeakMap<OpenAIChat, Learned>();
/** Models whose endpoint redirected a call sent over node:http: fetch follows redirects, so they keep it. */
const redirected = new WeakSet<OpenAIChat>();

/** Sent over node:http once learned: no fetch of the caller's, no headers of the call's, no proxy from the environment. */
const direct = (real: OpenAIChat, options: CallOptions) =>
  !real.config.fetch && !options.headers && !process.env.NODE_USE_ENV_PROXY && !redirected.has(real);

async function streamChat(real: OpenAIChat, options: CallOptions): Promise<StreamResult> {
  if (options.includeRawChunks) return real.doStream(options);
  const known = direct(real, options) ? learned.get(real) : undefined;
  if (known) return streamDirect(real, options, known);
  const send = real.config.fetch ?? globalThis.fetch;
  // The provider builds and sends the request, and judges a failed answer or a failed fetch itself.
  const sent = withFetch(real, async (url, init) => {
    const res = await send(url, init);
    if (!res.ok || res.body === null) return res;
    if (direct(real, options) && isStringRecord(init?.headers))
      learned.set(real, { url: String(url), headers: { ...init.headers } });
    throw new Answered(String(url), res);
  });
  // The request's body and warnings as the provider made them, kept for the parts and the result made here.
  const made = sent as unknown as { getArgs(o: CallOptions): Promise<Args> };
  const getArgs = made.getArgs.bind(made);
  let args: Args | undefined;
  made.getArgs = async (o) => (args = await getArgs(o));
  let answered: Answered;
  try {
    return await sent.doStream(options);
  } catch (e) {
    if (!(e instanceof Answered)) throw e;
    answered = e;
  }
  const { url, res } = answered;
  const body = (res.body as ReadableStream<Uint8Array>).getReader();
  return readAnswer(real, options, args as Args, url, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
    body,
  });
}

const isStringRecord = (h: unknown): h is Record<string, string> =>
  isObject(h) && Object.values(h).every((v) => typeof v === "string");

/** A call of a learned model: the provider's body, sent with its learned headers over node:http. */
async function streamDirect(real: OpenAIChat, options: CallOptions, known: Learned): Promise<StreamResult> {
  const args = await (real as unknown as { getArgs(o: CallOptions): Promise<Args> }).getArgs(options);
  const body = JSON.stringify({ ...args.args, stream: true, stream_options: { include_usage: true } });
  let answer: HttpAnswer;
  try {
    answer = await postStream(known.url, known.headers, body, options.abortSignal);
  } catch (e) {
    // The provider judges a failed request as it judges fetch's (the same TypeError).
    return judged(real, options, args, async () => {
      throw e;
    });
  }
  const { status, statusText, headers } = answer;
  if (status >= 300 && status <= 399) {
    // Redirected: nothing was done there. The call is sent again through fetch, which follows.
    await answer.body.cancel();
    redirected.add(real);
    return streamChat(real, options);
  }
  const empty = status === 204 || status === 205 || status === 304;
  if (status >= 200 && status <= 299 && !empty) return readAnswer(real, options, args, known.url, answer);
  // A failed answer (or one without a body) is the provider's to judge, whole.
  const whole = empty ? null : streamOf([], answer.body);
  return judged(real, options, args, async () => new Response(whole, { status, statusText, headers }));
}

/** The provider's outcome when its fetch comes to what `f` does, with the request body it already made. */
async function judged(real: OpenAIChat, options: CallOptions, args: Args, f: typeof fetch): Promise<StreamResult> {
  const m = withFetch(real, f) as unknown as OpenAIChat & { getArgs(o: CallOptions): Promise<Args> };
  m.getArgs = async () => args;
  return await m.doStream(options);
}

/** The bytes `kept`, then the rest of `reader`'s, as a web stream (what the provider reads). */
function streamOf(kept: readonly Uint8Array[], reader: BodyReader): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start: (c) => {
      for (const b of kept) c.enqueue(b);
    },
    pull: async (c) => {
      const r = await reader.read();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** A successful answer read here in one pass; anything this reading does not know is handed back to the provider. */
async function readAnswer(
  real: OpenAIChat,
  options: CallOptions,
  args: Args,
  url: string,
  res: { status: number; statusText: string; headers: Headers; body: BodyReader },
): Promise<StreamResult> {
  const { warnings } = args;
  const head = {
    request: { body: { ...args.args, stream: true, stream_options: { include_usage: true } }, url },
    response: { headers: Object.fromEntries([...res.headers]) },
  };
  const reader = res.body;
  const kept: Uint8Array[] = [];
  const chat = new PlainChat();
  // The provider's answer from its first byte: the bytes read so far, then the rest.
  const fromStart = () =>
    withFetch(
      real,
      async () =>
        new Response(streamOf(kept, reader), { status: res.status, statusText: res.statusText, headers: res.headers }),
    ).doStream(options);
  const parts: Part[] = [{ type: "stream-start", warnings }];
  /** Reads on until parts are ready or the answer ends; false: the provider must read it. */
  const readMore = async (): Promise<boolean> => {
    let r: Awaited<ReturnType<typeof reader.read>>;
    try {
      r = await reader.read();
    } catch {
      // A broken answer: the provider reads it again and meets the same error (the reader keeps it).
      return false;
    }
    if (r.done) return chat.end(parts);
    kept.push(r.value);
    return chat.feed(r.value, parts);
  };
  // Like the provider, answer only once the first output came (an error frame before it fails the call).
  while (!chat.output && !chat.ended) if (!(await readMore())) return fromStart();
  let passed = 0;
  let handedBack: ReadableStreamDefaultReader<Part> | null = null;
  return {
    ...head,
    stream: new ReadableStream<Part>({
      pull: async (c) => {
        const fromProvider = async (r: ReadableStreamDefaultReader<Part>) => {
          const next = await r.read();
          if (next.done) c.close();
          else c.enqueue(next.value);
        };
        if (handedBack) return fromProvider(handedBack);
        while (parts.length === 0 && !chat.ended) {
          if (await readMore()) continue;
          // The provider reads the answer again from the start; what it makes of the parts passed on is
          // skipped, and its next part goes on now (a pull that gives nothing is not called again).
          handedBack = (await fromStart()).stream.getReader();
          for (let i = 0; i < passed; i++) if ((await handedBack.read()).done) break;
          return fromProvider(handedBack);
        }
        for (const p of parts) c.enqueue(p);
        // Counted as the provider makes them (one a text chunk): what it re-reads is skipped by that count.
        passed = 1 + chat.made;
        parts.length = 0;
        if (chat.ended) c.close();
      },
      cancel: async (reason) => {
        await (handedBack ?? reader).cancel(reason);
      },
    }),
  };
}

/** What the provider's getArgs returns: the request's body before streaming is asked, and its warnings. */
interface Args {
  args: Record<string, unknown>;
  warnings: Extract<Part, { type: "stream-start" }>["warnings"];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const nullish = (v: unknown) => v === undefined || v === null;
const is = (v: unknown, type: "string" | "number") => nullish(v) || typeof v === type;
const nullishNumbers = (v: unknown, keys: readonly string[]) =>
  nullish(v) || (isObject(v) && keys.every((k) => is(v[k], "number")));

const USAGE = ["prompt_tokens", "completion_tokens", "total_tokens"] as const;
const PROMPT_DETAILS = ["cached_tokens", "cache_write_tokens"] as const;
const COMPLETION_DETAILS = ["reasoning_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"] as const;

/** The keys the provider's schema knows, in its order (zod keeps only those). */
function known(v: Json, keys: readonly string[]): Json {
  const out: Json = {};
  for (const k of keys) if (k in v) out[k] = v[k];
  return out;
}

function usageOf(u: Json): Json {
  const out = known(u, USAGE);
  const p = u.prompt_tokens_details;
  if ("prompt_tokens_details" in u) out.prompt_tokens_details = isObject(p) ? known(p, PROMPT_DETAILS) : p;
  const c = u.completion_tokens_details;
  if ("completion_tokens_details" in u) out.completion_tokens_details = isObject(c) ? known(c, COMPLETION_DETAILS) : c;
  return out;
}

/** A chunk the provider's schema accepts and whose handling is the plain one: text, usage, finish. */
function plain(v: unknown): v is Json & { choices: Json[] } {
  if (!isObject(v) || "error" in v) return false;
  if (!is(v.id, "string") || !is(v.created, "number") || !is(v.model, "string")) return false;
  if (!Array.isArray(v.choices)) return false;
  for (const c of v.choices) {
    if (!isObject(c) || typeof c.index !== "number" || !nullish(c.logprobs) || !is(c.finish_reason, "string"))
      return false;
    const d = c.delta;
    if (nullish(d)) continue;
    if (!isObject(d) || !(nullish(d.role) || d.role === "assistant") || !is(d.content, "string")) return false;
    if (!nullish(d.refusal) || !nullish(d.annotations)) return false;
    if (!(nullish(d.tool_calls) || (Array.isArray(d.tool_calls) && d.tool_calls.length === 0))) return false;
  }
  const u = v.usage;
  if (nullish(u)) return true;
  return (
    isObject(u) &&
    nullishNumbers(u, USAGE) &&
    nullishNumbers(u.prompt_tokens_details, PROMPT_DETAILS) &&
    nullishNumbers(u.completion_tokens_details, COMPLETION_DETAILS)
  );
}

/** Property names JSON.parse would let through that the provider's parser refuses or filters. */
const SUSPECT = /__proto__|constructor/;

/**
 * The provider's reading of a plain answer: server-sent events (LF line ends, one data line each,
 * comments) of JSON chunks into the parts its transform makes, except that the text of the chunks
 * read together is one text-delta (the provider makes one a chunk). `feed` and `end` return false at
 * the first thing it would read otherwise.
 */
class PlainChat {
  #decoder = new TextDecoder();
  #line = "";
  #data: string | null = null;
  #metadata = false;
  #text = false;
  #usage: Json | undefined;
  #finish: string | undefined;
  #openai: Json = {};
  /** The first chunk with output (text) was read. */
  output = false;
  ended = false;
  /** Parts the provider would have made of what was read so far (text-deltas merged here count one each). */
  made = 0;

  feed(bytes: Uint8Array, out: Part[]): boolean {
    return this.#lines(this.#decoder.decode(bytes, { stream: true }), out);
  }

  end(out: Part[]): boolean {
    if (!this.#lines(this.#decoder.decode(), out) || this.#line !== "" || this.#data !== null) return false;
    if (this.#text) this.#push(out, { type: "text-end", id: "0" });
    const finish = this.#finish;
    this.#push(out, {
      type: "finish",
      finishReason:
        finish === undefined ? { unified: "interrupted", raw: undefined } : { unified: reason(finish), raw: finish },
      usage: chatUsage(this.#usage),
      providerMetadata: { openai: this.#openai },
    } as Part);
    this.ended = true;
    return true;
  }

  #lines(text: string, out: Part[]): boolean {
    if (text.includes("\r")) return false;
    const s = this.#line === "" ? text : this.#line + text;
    let at = 0;
    for (let nl = s.indexOf("\n"); nl !== -1; at = nl + 1, nl = s.indexOf("\n", at)) {
      if (nl === at) {
        const data = this.#data;
        this.#data = null;
        if (data !== null && !this.#event(data, out)) return false;
      } else if (s.startsWith("data:", at)) {
        if (this.#data !== null) return false;
        this.#data = s.slice(s.charCodeAt(at + 5) === 32 ? at + 6 : at + 5, nl);
      } else if (s.charCodeAt(at) !== 58) return false; // ":" starts a comment
    }
    this.#line = at === 0 ? s : s.slice(at);
    return true;
  }

  #event(data: string, out: Part[]): boolean {
    if (data === "[DONE]") return true;
    if (SUSPECT.test(data)) return false;
    let v: unknown;
    try {
      v = JSON.parse(data);
    } catch {
      return false;
    }
    if (!plain(v)) return false;
    if (!this.#metadata) {
      const created = v.created || undefined;
      const m = {
        id: (v.id as string | null | undefined) ?? undefined,
        modelId: (v.model as string | null | undefined) ?? undefined,
        timestamp: created != null ? new Date((created as number) * 1000) : undefined,
      };
      if (m.id || m.modelId || m.timestamp) {
        this.#metadata = true;
        this.#push(out, { type: "response-metadata", ...m });
      }
    }
    if (!nullish(v.usage)) {
      const u = usageOf(v.usage as Json);
      this.#usage = u;
      const details = u.completion_tokens_details as Json | null | undefined;
      if (details?.accepted_prediction_tokens != null)
        this.#openai.acceptedPredictionTokens = details.accepted_prediction_tokens;
      if (details?.rejected_prediction_tokens != null)
        this.#openai.rejectedPredictionTokens = details.rejected_prediction_tokens;
    }
    const choice = v.choices[0];
    if (choice === undefined) return true;
    if (choice.finish_reason != null) this.#finish = choice.finish_reason as string;
    const delta = choice.delta as Json | null | undefined;
    if (nullish(delta)) return true;
    const content = (delta as Json).content;
    if (typeof content === "string") {
      if (!this.#text) {
        this.#push(out, { type: "text-start", id: "0" });
        this.#text = true;
      }
      // Tokens that came in one network read go on as one part: the AI SDK's stages, the step's
      // publish and the run's stream (a row each) then take them once, not once a token. Parts not yet
      // passed on came in one read (or, before the first output, in the reads that waited for it).
      const last = out.at(-1);
      if (last?.type === "text-delta") {
        last.delta += content;
        this.made++;
      } else this.#push(out, { type: "text-delta", id: "0", delta: content });
      if (content.length > 0) this.output = true;
    }
    return true;
  }

  #push(out: Part[], part: Part): void {
    out.push(part);
    this.made++;
  }
}

/** The provider's finish reasons (no refusal can be read here). */
function reason(raw: string): "stop" | "length" | "content-filter" | "tool-calls" | "other" {
  switch (raw) {
    case "stop":
      return "stop";
    case "length":
      return "length";
    case "content_filter":
      return "content-filter";
    case "function_call":
    case "tool_calls":
      return "tool-calls";
    default:
      return "other";
  }
}

/** The provider's usage of a chat answer, from the chunk's usage as its schema kept it. */
function chatUsage(u: Json | undefined): unknown {
  if (u === undefined)
    return {
      inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: undefined, text: undefined, reasoning: undefined },
      raw: undefined,
    };
  const n = (x: unknown) => (x ?? undefined) as number | undefined;
  const p = u.prompt_tokens_details as Json | null | undefined;
  const c = u.completion_tokens_details as Json | null | undefined;
  const prompt = n(u.prompt_tokens) ?? 0;
  const completion = n(u.completion_tokens) ?? 0;
  const cached = n(p?.cached_tokens) ?? 0;
  const cacheWrite = n(p?.cache_write_tokens);
  const reasoning = n(c?.reasoning_tokens) ?? 0;
  return {
    inputTokens: { total: prompt, noCache: prompt - cached - (cacheWrite ?? 0), cacheRead: cached, cacheWrite },
    outputTokens: { total: completion, text: Math.max(0, completion - reasoning), reasoning },
    raw: u,
  };
}
