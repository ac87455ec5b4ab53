import { z } from "zod";
import type { BlobStore } from "../../blobs/types.ts";
import { withFiles } from "../files.ts";
import type { Tool } from "../types.ts";

const Args = z.object({ files: z.array(z.string().min(1).max(80)).min(1).max(5) });

/**
 * `send_file`: files of the tenant's (a screenshot, a download, a file a tool made) go to the person
 * with the turn's reply: a photo or a document in their channel, a link in the terminal and the API.
 * The reply's delivery sends them, once (the outbox), so a retried turn does not send them twice.
 */
export function sendFileTool(blobs: BlobStore): Tool<z.infer<typeof Args>> {
  return {
    name: "send_file",
    description: "Send files (their blob_… ids) to the person with your reply.",
    input: Args,
    risk: "low",
    defaultDecision: "allow",
    subject: (a) => a.files.join(" "),
    async run(a, ctx) {
      const found = [];
      for (const id of new Set(a.files)) {
        const blob = await blobs.get(ctx.tenant.tenantId, id);
        if (!blob) throw new Error(`there is no file ${JSON.stringify(id)}: use an id a tool or the person gave`);
        found.push(blob.attachment);
      }
      const names = found.map((f) => f.name ?? f.id).join(", ");
      return withFiles(`${names}: sent with the reply`, { send: found });
    },
  };
}
