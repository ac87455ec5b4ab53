import { z } from "zod";
import { MAX_MEMORY_CHARS, type MemoryEntry, type MemoryStore } from "../../memory/store.ts";
import type { Embedder, Tool } from "../types.ts";

const RememberArgs = z.object({
  content: z.string().min(1).max(MAX_MEMORY_CHARS),
  due: z.iso.datetime({ offset: true }).optional().describe("ISO time it becomes due"),
});
const RecallArgs = z.object({ query: z.string().min(1).max(1000), limit: z.number().int().min(1).max(20).optional() });
const ForgetArgs = z.object({ id: z.string().min(1).max(100) });

/** remember, recall and forget over the tenant's long-term memory; embeddings when an embedder is configured. */
export function memoryTools(store: MemoryStore): Tool[] {
  const remember: Tool<z.infer<typeof RememberArgs>> = {
    name: "remember",
    description: "Save a lasting fact or note to long-term memory.",
    input: RememberArgs,
    risk: "low",
    defaultDecision: "allow",
    async run(args, ctx) {
      const embedding = await embedOne(ctx.services.embedder, args.content);
      const e = await store.add(ctx.tenant, {
        content: args.content,
        dueAt: args.due ? Date.parse(args.due) : null,
        embedding,
        source: "agent",
        key: `${ctx.runId}:${ctx.callId}`,
      });
      return { id: e.id, ...(e.dueAt !== null ? { due: iso(e.dueAt) } : {}) };
    },
  };
  const recall: Tool<z.infer<typeof RecallArgs>> = {
    name: "recall",
    description: "Search long-term memory.",
    input: RecallArgs,
    risk: "low",
    defaultDecision: "allow",
    async run(args, ctx) {
      const embedding = await embedOne(ctx.services.embedder, args.query);
      const found = await store.search(ctx.tenant, args.query, { limit: args.limit ?? 5, embedding });
      return { memories: found.map(view) };
    },
  };
  const forget: Tool<z.infer<typeof ForgetArgs>> = {
    name: "forget",
    description: "Delete a memory by id.",
    input: ForgetArgs,
    risk: "low",
    defaultDecision: "allow",
    subject: (a) => a.id,
    async run(args, ctx) {
      return { forgotten: await store.forget(ctx.tenant, args.id) };
    },
  };
  return [remember, recall, forget];
}

/** An embedding model that is down costs semantic search, never the memory itself: text search still works. */
async function embedOne(embedder: Embedder | null, text: string): Promise<number[] | null> {
  if (!embedder) return null;
  try {
    return (await embedder.embed([text]))[0] ?? null;
  } catch {
    return null;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

function view(e: MemoryEntry) {
  return {
    id: e.id,
    content: e.content,
    saved: iso(e.createdAt),
    ...(e.dueAt !== null ? { due: iso(e.dueAt), done: e.doneAt !== null } : {}),
    score: e.score,
  };
}
