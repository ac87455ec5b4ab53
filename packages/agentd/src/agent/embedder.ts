import type { Embedder } from "../tools/types.ts";
import { loadAi } from "./ai-sdk.ts";
import type { Models } from "./model.ts";

/** Embeddings for memory search through the configured model, when there is one; its errors scrubbed of secrets. */
export function embedderOf(models: Models | null): Embedder | null {
  const embedding = models?.embedding ?? null;
  if (!embedding) return null;
  return {
    embed: async (values) => {
      try {
        const { embedMany } = await loadAi();
        return (await embedMany({ model: embedding, values, maxRetries: 2 })).embeddings;
      } catch (e) {
        throw new Error(`the embedding model failed: ${models!.scrub(e instanceof Error ? e.message : String(e))}`);
      }
    },
  };
}
