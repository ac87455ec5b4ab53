import { posix } from "node:path";
import { z } from "zod";
import type { BlobStore } from "../../blobs/types.ts";
import { AgentdError } from "../../errors.ts";
import type { SshService } from "../../ssh/service.ts";
import { sftpGet, sftpPut } from "../../ssh/sftp.ts";
import type { Tool } from "../types.ts";

const HOST_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const Args = z.object({
  // Checked by a refinement, not a pattern, so the schema the model reads stays small.
  host: z.string().refine((h) => HOST_NAME.test(h), "a host's name (ssh_hosts lists them)"),
  direction: z.enum(["upload", "download"]),
  path: z
    .string()
    .min(1)
    .max(1000)
    .refine((p) => !p.includes("\0"), "a path has no NUL characters"),
  blobId: z.string().max(100).optional().describe("upload: the blob to write"),
});
type Args = z.infer<typeof Args>;

const subject = (a: Args) =>
  a.direction === "upload"
    ? `upload ${a.blobId ?? "?"} to ${a.path} (on ${a.host})`
    : `download ${a.path} (on ${a.host})`;

/**
 * ssh_file: SFTP between the blob store and one of the tenant's pinned hosts. A download becomes a
 * blob (its id comes back to pass on); an upload writes a blob the tenant has. Both bounded by the
 * media size limit.
 */
export function sshFileTool(ssh: SshService, blobs: BlobStore, maxBytes: number): Tool<Args> {
  return {
    name: "ssh_file",
    description: "SFTP: upload a blob to, or download a file (as a blob) from, an SSH host.",
    input: Args,
    risk: "high",
    defaultDecision: "ask",
    timeoutMs: 300_000,
    subject,
    always: (a) => ({ pattern: subject(a).replaceAll("*", "?"), shown: `exactly this ${a.direction}` }),
    async run(a, ctx) {
      const host = await ssh.pinnedHost(ctx.tenant, a.host);
      return ssh.withConnection(
        ctx.tenant,
        host,
        ctx.runId,
        async (client) => {
          if (a.direction === "download") {
            const data = await sftpGet(client, a.path, maxBytes, ctx.signal);
            const blob = await blobs.put(ctx.tenant.tenantId, data, {
              mime: "application/octet-stream",
              name: posix.basename(a.path),
              source: `ssh:${a.host}`,
            });
            return { downloaded: a.path, blob };
          }
          if (!a.blobId) throw new AgentdError("bad_request", "an upload names blobId, the blob to write");
          const got = await blobs.get(ctx.tenant.tenantId, a.blobId);
          if (!got) throw new AgentdError("not_found", `no blob ${JSON.stringify(a.blobId)} in this tenant's store`);
          await sftpPut(client, a.path, got.data, ctx.signal);
          return { uploaded: a.path, bytes: got.data.length };
        },
        ctx.signal,
      );
    },
  };
}
