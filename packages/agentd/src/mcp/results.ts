import type { CallToolResult, ImageContent } from "@modelcontextprotocol/client";
import type { Attachment } from "../blobs/types.ts";
import { type ToolFiles, withFiles } from "../tools/files.ts";

/** Text of one embedded resource kept at most (the output's own cut applies after). */
const MAX_RESOURCE_CHARS = 20_000;

/** Images of one result kept in the tenant's files and shown to the model, at most. */
const MAX_IMAGES = 4;
/** What an image is shown as: raster types a model reads. */
const SHOWN = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/** Keeps one image's bytes in the tenant's files; null when it is not kept (too large, a type not shown). */
export type KeepImage = (image: ImageContent) => Promise<Attachment | null>;

/**
 * A result with its images: each (at most `MAX_IMAGES`, of a raster type) kept in the tenant's files
 * and shown to the model through the files-out path (as an image part to a model that takes them,
 * a note otherwise), its place in the text saying which file it is.
 */
export async function resultWithImages(result: CallToolResult, keep: KeepImage): Promise<string | ToolFiles> {
  const kept = new Map<ImageContent, Attachment>();
  for (const block of result.content ?? []) {
    if (block.type !== "image" || kept.size >= MAX_IMAGES || !SHOWN.has(block.mimeType)) continue;
    const a = await keep(block);
    if (a) kept.set(block, a);
  }
  const text = resultText(result, (image) => {
    const a = kept.get(image);
    return a ? `[image ${a.mime}, ${a.size} bytes: file ${a.id}, shown]` : null;
  });
  return kept.size ? withFiles(text, { show: [...kept.values()] }) : text;
}

/**
 * A tool's result as the text the model reads: text as is, embedded text resources with their URI,
 * and a note for what it cannot be shown here (images, audio, binary resources: their type and
 * size), links by name and URI. A result without content shows its structured content as JSON. The
 * whole text is fenced as untrusted by the tool call's output stages: a server's words are data.
 * A result the server marked as an error is thrown, so the model reads it as the tool failing.
 */
export function resultText(
  result: CallToolResult,
  imageNote: (image: ImageContent) => string | null = () => null,
): string {
  const parts: string[] = [];
  for (const block of result.content ?? []) {
    switch (block.type) {
      case "text":
        parts.push(block.text);
        break;
      case "image":
        parts.push(imageNote(block) ?? `[image ${block.mimeType}, ${bytesOf(block.data)} bytes: not shown here]`);
        break;
      case "audio":
        parts.push(`[audio ${block.mimeType}, ${bytesOf(block.data)} bytes: not shown here]`);
        break;
      case "resource": {
        const r = block.resource;
        if ("text" in r && typeof r.text === "string")
          parts.push(
            `[resource ${r.uri}${r.mimeType ? ` (${r.mimeType})` : ""}]\n${r.text.slice(0, MAX_RESOURCE_CHARS)}`,
          );
        else
          parts.push(
            `[resource ${r.uri}${r.mimeType ? ` (${r.mimeType})` : ""}, ${bytesOf((r as { blob?: string }).blob ?? "")} bytes: not shown here]`,
          );
        break;
      }
      case "resource_link":
        parts.push(`[link ${block.name}: ${block.uri}${block.mimeType ? ` (${block.mimeType})` : ""}]`);
        break;
      default:
        parts.push(`[${String((block as { type?: unknown }).type).slice(0, 40)} content: not shown here]`);
    }
  }
  if (parts.length === 0 && result.structuredContent !== undefined)
    parts.push(JSON.stringify(result.structuredContent));
  const text = parts.join("\n");
  if (result.isError) throw new Error(text || "the MCP server said the tool failed, without saying why");
  return text;
}

/** Bytes of base64 data, without decoding it. */
function bytesOf(b64: string): number {
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((b64.length * 3) / 4) - pad);
}
