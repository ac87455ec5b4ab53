import type { LanguageModel } from "ai";
import { type BodyReader, type HttpAnswer, postStream } from "./model-http.ts";
import { isObject, PlainChat } from "./openai-plain-chat.ts";

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
