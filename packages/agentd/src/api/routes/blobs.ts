import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { listBlobs } from "../../blobs/local.ts";
import { AgentdError, badRequest, notFound } from "../../errors.ts";
import { queryOf } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";

export const ListBlobs = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });
export const UploadBlob = z.object({
  /** The file's name as the person knows it. */
  name: z.string().min(1).max(200).optional(),
});
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** Media a tenant's people sent (photos, voice notes, documents), read back by id. */
export function blobRoutes(app: Agentd) {
  return (
    new Hono<TenantEnv>()
      .get("/blobs", queryOf(ListBlobs), async (c) => {
        const q = c.req.valid("query");
        return c.json({ blobs: await listBlobs(scopeOf(app, c), q.limit) });
      })
      // A file a person attaches to a message (the dashboard's chat): the body is the bytes, its type
      // the Content-Type. Bounded by AGENTD_MAX_BODY_BYTES (the API's body limit) and AGENTD_MAX_MEDIA_BYTES.
      .post("/blobs", queryOf(UploadBlob), async (c) => {
        const mime = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
        if (!MIME.test(mime))
          throw badRequest("send the file as the body with its Content-Type (e.g. image/png, application/pdf)");
        const data = new Uint8Array(await c.req.arrayBuffer());
        if (data.byteLength === 0) throw badRequest("the file is empty");
        if (data.byteLength > app.config.maxMediaBytes)
          throw new AgentdError(
            "media_too_large",
            `the file is ${data.byteLength} bytes, over the ${app.config.maxMediaBytes} this agentd keeps (AGENTD_MAX_MEDIA_BYTES)`,
          );
        const name = c.req.valid("query").name;
        const attachment = await app.blobs.put(c.get("tenantId"), data, {
          mime,
          ...(name ? { name } : {}),
          source: "api",
        });
        return c.json(attachment, 201);
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
      })
  );
}
