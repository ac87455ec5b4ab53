import { FatalError, RetryableError } from "@agentd/kernel";
import type { EmbeddingModel, LanguageModel } from "ai";
import { scrubUrls, showUrl } from "../net/url-secrets.ts";
import { aiIfLoaded, lazyChatModel, lazyEmbeddingModel, loadOpenAI } from "./ai-sdk.ts";
import { ECHO_MODEL_ID, echoModel } from "./echo-model.ts";
import { leanChat } from "./openai-stream.ts";

/** How to reach the model: OpenAI by default, any OpenAI-compatible server by base URL, or any AI SDK model passed in code. */
export interface ModelConfig {
  /** A model object from any AI SDK provider; overrides the settings below. */
  model?: LanguageModel;
  /** Model id (AGENTD_MODEL; default gpt-4o-mini). "echo" is the built-in echo model (echo-model.ts). */
  id: string;
  /** OPENAI_API_KEY or AGENTD_MODEL_API_KEY. */
  apiKey?: string;
  /** AGENTD_MODEL_BASE_URL (or OPENAI_BASE_URL): Ollama, vLLM, llama.cpp, … */
  baseURL?: string;
  /** AGENTD_EMBEDDING_MODEL: turns on embeddings for memory search. */
  embeddingId?: string;
  /** The model that folds old messages into the summary (default: the same). */
  summaryId?: string;
  /** AGENTD_MODEL_IMAGES=0: the model takes no images (default: it does). */
  images?: boolean;
  /** AGENTD_MODEL_PDFS=1: the model takes PDFs as file parts (default: their text only). */
  pdfs?: boolean;
}

export const NO_MODEL_HINT =
  "no model is configured: set OPENAI_API_KEY, or AGENTD_MODEL_BASE_URL (+ AGENTD_MODEL) for an OpenAI-compatible server such as Ollama, vLLM or llama.cpp; to try agentd without one, AGENTD_MODEL=echo answers each message with its own text";

/** How a model object passed in code is described (it has no endpoint agentd could name or check). */
export const MODEL_IN_CODE = "a model passed in code";

export interface Models {
  chat: LanguageModel;
  summary: LanguageModel;
  embedding: EmbeddingModel | null;
  /** For messages: which endpoint and model, never the key nor credentials in the base URL. */
  describe: string;
  /** Removes the base URL's credentials from a message (HTTP clients quote the URL they failed on). */
  scrub: (text: string) => string;
  /** False: images (photos, screenshots) stay notes naming the file; absent or true, they are sent as images. */
  images?: boolean;
  /** True: recent PDFs are sent as file parts, not only as their text. */
  pdfs?: boolean;
}

/** The models agentd uses, or null when none is configured (agentd still starts and says how to configure one). */
export function resolveModels(c: ModelConfig): Models | null {
  if (c.model)
    return {
      chat: c.model,
      summary: c.model,
      embedding: null,
      describe: MODEL_IN_CODE,
      scrub: (t) => scrubUrls(t),
      images: c.images ?? true,
      pdfs: c.pdfs ?? false,
    };
  // Chosen by name only, never as a fallback: a missing key must not pass for a working model.
  if (c.id === ECHO_MODEL_ID) {
    const echo = echoModel();
    return {
      chat: echo,
      summary: echo,
      embedding: null,
      describe: "echo (built-in: answers each message with its own text; set a real model to chat)",
      scrub: (t) => t,
      images: false,
    };
  }
  if (!c.apiKey && !c.baseURL) return null;
  // Local servers often need no key; the provider insists on one, so send a placeholder they ignore.
  // The provider (and the AI SDK) is loaded on the first model call, not at start (ai-sdk.ts).
  let provider: Promise<ReturnType<Awaited<ReturnType<typeof loadOpenAI>>["createOpenAI"]>> | undefined;
  const openai = () =>
    (provider ??= loadOpenAI().then(({ createOpenAI }) =>
      createOpenAI({ apiKey: c.apiKey ?? "unused", baseURL: c.baseURL, name: PROVIDER }),
    ));
  // Its streamed answers read by openai-stream.ts (the provider's own reading costs a third of a turn's CPU).
  const chat = (id: string) => lazyChatModel(`${PROVIDER}.chat`, id, async () => leanChat((await openai()).chat(id)));
  const embeddingId = c.embeddingId;
  return {
    chat: chat(c.id),
    summary: chat(c.summaryId ?? c.id),
    embedding: embeddingId
      ? lazyEmbeddingModel(`${PROVIDER}.embedding`, embeddingId, async () => (await openai()).embedding(embeddingId))
      : null,
    describe: `${c.id} at ${showUrl(c.baseURL ?? "https://api.openai.com/v1")}`,
    images: c.images ?? true,
    pdfs: c.pdfs ?? false,
    scrub: (t) => {
      const out = scrubUrls(t, c.baseURL);
      return c.apiKey && c.apiKey.length >= 6 ? out.split(c.apiKey).join("…") : out;
    },
  };
}

/** The provider's name: models report it as `agentd.chat` and `agentd.embedding`. */
const PROVIDER = "agentd";

/**
 * Sorts a failed model call for the kernel's retry policy: rate limits, server errors and broken
 * streams are retried (durably, with backoff); a refused key or a bad request fails at once with the
 * setting to fix.
 */
export function classifyModelError(e: unknown, models: Pick<Models, "describe" | "scrub">): Error {
  const { describe } = models;
  const status = isApiCallError(e) ? e.statusCode : undefined;
  const msg = models.scrub(e instanceof Error ? e.message : String(e));
  if (status === 401 || status === 403)
    return new FatalError(
      `the model endpoint (${describe}) refused the API key (HTTP ${status}): check OPENAI_API_KEY or AGENTD_MODEL_API_KEY, and AGENTD_MODEL_BASE_URL`,
    );
  if (status === 404)
    return new FatalError(`the model endpoint (${describe}) does not know this model (HTTP 404): check AGENTD_MODEL`);
  if (status === 400 || status === 413 || status === 422)
    return new FatalError(
      `the model endpoint (${describe}) rejected the request (HTTP ${status}): ${msg.slice(0, 300)}`,
    );
  if (status === 429) {
    const after = retryAfterMs(e);
    return new RetryableError(
      `the model endpoint is rate limiting (HTTP 429)`,
      after === undefined ? {} : { retryAfterMs: after },
    );
  }
  return new RetryableError(`model call failed${status ? ` (HTTP ${status})` : ""}: ${msg.slice(0, 300)}`);
}

function retryAfterMs(e: unknown): number | undefined {
  const h = isApiCallError(e) ? e.responseHeaders : undefined;
  const v = h?.["retry-after"];
  const s = v === undefined ? NaN : Number(v);
  return Number.isFinite(s) ? Math.min(s * 1000, 120_000) : undefined;
}

/** The AI SDK's APICallError (a model endpoint's HTTP answer). None can exist before the SDK is loaded (ai-sdk.ts). */
function isApiCallError(e: unknown): e is import("ai").APICallError {
  return aiIfLoaded()?.APICallError.isInstance(e) ?? false;
}
