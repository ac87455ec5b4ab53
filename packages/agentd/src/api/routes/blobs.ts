import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { listBlobs } from "../../blobs/local.ts";
import { notFound } from "../../errors.ts";
import { queryOf } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";

export const ListBlobs = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });

/** Media a tenant's people sent (photos, voice notes, documents), read back by id. */
export function blobRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/blobs", queryOf(ListBlobs), async (c) => {
      const q = c.req.valid("query");
      return c.json({ blobs: await listBlobs(scopeOf(app, c), q.limit) });
    })
    .get("/blobs/:id", async (c) => {
      const id = c.req.param("id");
      // Another tenant's id answers exactly like a missing one.
      const blob = await app.blobs.get(c.get("tenantId"), id);
      if (!blob) throw notFound(`blob ${id}`);
      const { attachment: a, data } = blob;
      return c.body(data as Uint8Array<ArrayBuffer>, 200, {
        "content-type": a.mime,
        "content-length": String(data.byteLength),
        // What people send is not ours to run: never rendered as a page of this origin, never sniffed.
        "content-disposition": `attachment; filename="${(a.name ?? a.id).replaceAll(/[^\w.\- ]/g, "_")}"`,
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox",
        "cache-control": "private, max-age=31536000, immutable",
      });
    });
}
