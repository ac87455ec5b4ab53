import { readFile, writeFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { type CommandInput, noMoreThan, parseCommand, required, requiredTenant, wholeNumber } from "./args.ts";
import { UsageError } from "./errors.ts";
import { table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";

/** The type of a file by its extension, for uploads without --type: the common ones people send. */
const TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".pdf": "application/pdf",
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".csv": "text/csv",
  ".json": "application/json",
  ".ogg": "audio/ogg",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
};

/**
 * `agentd blobs [list] | upload <file> | get <id>`, each with `--tenant <id>`: the files of a
 * tenant's people (media they sent, uploads to attach to a message), through the API's routes.
 */
export async function blobs(input: CommandInput): Promise<number> {
  const p = parseCommand(
    input,
    {
      tenant: { type: "string" },
      limit: { type: "string" },
      name: { type: "string" },
      type: { type: "string" },
      out: { type: "string", short: "o" },
      ...JSON_OPTION,
    },
    2,
  );
  const sub = p.positionals[0] ?? "list";
  const tenant = requiredTenant(p, `blobs ${sub}`);
  const out = (s: string) => process.stdout.write(s);
  switch (sub) {
    case "list": {
      noMoreThan(p, 1, "blobs list");
      const limit = wholeNumber(p, "limit", 100, "blobs list", 1);
      return withApi(input, p, tenant, async (client) => {
        const answer = await (await client.api.v1.blobs.$get({ query: { limit: String(limit) } })).json();
        if (printedJson(p, answer)) return 0;
        const rows = answer.blobs.map((b) => [b.id, b.kind, b.mime, String(b.size), b.name ?? "-", time(b.createdAt)]);
        out(
          rows.length
            ? table(["ID", "KIND", "TYPE", "BYTES", "NAME", "STORED"], rows)
            : `no files for tenant ${tenant}\n`,
        );
        return 0;
      });
    }
    case "upload": {
      noMoreThan(p, 2, "blobs upload");
      const path = required(p, 1, "a file to upload", "agentd blobs upload");
      const mime = (p.values.type as string | undefined) ?? TYPES[extname(path).toLowerCase()];
      if (!mime)
        throw new UsageError(
          `agentd blobs upload: give the file's type with --type (e.g. --type image/png) for ${path}`,
        );
      const data = await readFile(path);
      const name = (p.values.name as string | undefined) ?? basename(path);
      return withApi(input, p, tenant, async (client) => {
        const res = await client.api.v1.blobs.$post(
          { query: { name } },
          // The body is the file (init), its type a header merged with the client's token (headers).
          { init: { body: data }, headers: { "content-type": mime } },
        );
        const stored = await res.json();
        if (printedJson(p, stored)) return 0;
        out(
          `stored ${stored.id} (${stored.mime}, ${stored.size} bytes): attach it to a message with "attachments": ["${stored.id}"]\n`,
        );
        return 0;
      });
    }
    case "get": {
      noMoreThan(p, 2, "blobs get");
      const id = required(p, 1, "a file's id", "agentd blobs get");
      const to = p.values.out as string | undefined;
      if (to === undefined && process.stdout.isTTY)
        throw new UsageError("agentd blobs get: give --out <file> (or redirect stdout) for the file's bytes");
      return withApi(input, p, tenant, async (client) => {
        const res = await client.api.v1.blobs[":id"].$get({ param: { id: encodeURIComponent(id) } });
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (to === undefined) process.stdout.write(bytes);
        else {
          await writeFile(to, bytes, { mode: 0o600 });
          process.stderr.write(`wrote ${bytes.byteLength} bytes (${res.headers.get("content-type")}) to ${to}\n`);
        }
        return 0;
      });
    }
    default:
      throw new UsageError(`agentd blobs: unknown subcommand "${sub}"; use list, upload or get`);
  }
}
