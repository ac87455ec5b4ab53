import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { MAX_MEMORY_CHARS } from "../../memory/store.ts";
import { notFound } from "../../errors.ts";
import { jsonBody, queryOf } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";

export const ListMemory = z.object({
  q: z.string().max(1000).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** Paging without q: the id of the last entry of the previous page. */
  before: z.string().max(100).optional(),
});
export const AddMemory = z.strictObject({
  content: z.string().min(1).max(MAX_MEMORY_CHARS),
  /** When the note becomes due: an ISO 8601 time with its offset. */
  due: z.iso.datetime({ offset: true }).optional(),
});

/** The tenant's long-term memory: list or search, add, forget. */
export function memoryRoutes(app: Agentd) {
  // Embeddings are a bonus for search: when the embedding model fails, text search still answers.
  const embed = async (text: string) => {
    const embedder = app.deps.services.embedder;
    if (!embedder) return null;
    return (await embedder.embed([text]).catch(() => null))?.[0] ?? null;
  };
  return new Hono<TenantEnv>()
    .get("/memory", queryOf(ListMemory), async (c) => {
      const q = c.req.valid("query");
      const scope = scopeOf(app, c);
      const memories = q.q?.trim()
        ? await app.memory.search(scope, q.q, { limit: q.limit, embedding: await embed(q.q) })
        : await app.memory.list(scope, { limit: q.limit, before: q.before ?? null });
      return c.json({ memories });
    })
    .post("/memory", jsonBody(AddMemory), async (c) => {
      const body = c.req.valid("json");
      const entry = await app.memory.add(scopeOf(app, c), {
        content: body.content,
        source: "user",
        dueAt: body.due === undefined ? null : Date.parse(body.due),
        embedding: await embed(body.content),
      });
      return c.json(entry, 201);
    })
    .delete("/memory/:id", async (c) => {
      if (!(await app.memory.forget(scopeOf(app, c), c.req.param("id")))) throw notFound(`memory ${c.req.param("id")}`);
      return c.body(null, 204);
    });
}
