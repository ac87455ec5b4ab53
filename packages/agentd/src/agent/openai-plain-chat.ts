import type { LanguageModel } from "ai";

// The provider's reading of a plain streamed chat answer, done here in one pass (openai-stream.ts
// decides when: a plain answer is read with this, anything else is handed back to the provider). What
// a chunk must look like to be plain, and the parts the provider's transform makes of it, in its order.

type ChatModel = Extract<LanguageModel, { specificationVersion: "v4" }>;
type StreamResult = Awaited<ReturnType<ChatModel["doStream"]>>;
type Part = StreamResult["stream"] extends ReadableStream<infer P> ? P : never;

type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
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
export class PlainChat {
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
