import type * as Ai from "ai";
import type { EmbeddingModel, LanguageModel } from "ai";

// The AI SDK and its OpenAI provider are loaded on first use, not with agentd: a process that calls
// no model (none configured; or only the API, heartbeats and channels so far) does not load them.
// They are some 3 MB of code: a tenth of a second of every start on 2 cores, and memory held for good.

let sdk: Promise<typeof Ai> | undefined;
let loaded: typeof Ai | undefined;
let openai: Promise<typeof import("@ai-sdk/openai")> | undefined;

/** The AI SDK (`ai`), loaded on the first call. */
export function loadAi(): Promise<typeof Ai> {
  sdk ??= import("ai").then((m) => (loaded = m));
  return sdk;
}

/**
 * The AI SDK if it is loaded, else undefined: for what must answer at once (is this error the SDK's?).
 * An error of a model call can only come once the SDK is loaded, since every call goes through it.
 */
export const aiIfLoaded = (): typeof Ai | undefined => loaded;

/** The OpenAI provider (`@ai-sdk/openai`), loaded on the first call. */
export function loadOpenAI(): Promise<typeof import("@ai-sdk/openai")> {
  openai ??= import("@ai-sdk/openai");
  return openai;
}

type ChatModel = Extract<LanguageModel, { specificationVersion: "v4" }>;
type EmbedModel = Extract<EmbeddingModel, { specificationVersion: "v4" }>;

/**
 * A language model that makes the real one (`make`) on its first call and hands every call to it.
 * `provider` and `modelId` are the real model's, known before it exists.
 */
export function lazyChatModel(provider: string, modelId: string, make: () => Promise<ChatModel>): ChatModel {
  let real: Promise<ChatModel> | undefined;
  const get = () => (real ??= make());
  return {
    specificationVersion: "v4",
    provider,
    modelId,
    get supportedUrls() {
      return get().then((m) => m.supportedUrls);
    },
    doGenerate: async (o) => (await get()).doGenerate(o),
    doStream: async (o) => (await get()).doStream(o),
  };
}

/** An embedding model that makes the real one on its first call, as lazyChatModel. */
export function lazyEmbeddingModel(provider: string, modelId: string, make: () => Promise<EmbedModel>): EmbedModel {
  let real: Promise<EmbedModel> | undefined;
  const get = () => (real ??= make());
  return {
    specificationVersion: "v4",
    provider,
    modelId,
    get maxEmbeddingsPerCall() {
      return get().then((m) => m.maxEmbeddingsPerCall);
    },
    get supportsParallelCalls() {
      return get().then((m) => m.supportsParallelCalls);
    },
    doEmbed: async (o) => (await get()).doEmbed(o),
  };
}
