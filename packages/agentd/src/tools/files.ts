import type { Attachment } from "../blobs/types.ts";

const MARK = Symbol.for("agentd.toolFiles");

/**
 * What a tool returns when it produced files (kept in the blob store first): its text for the model,
 * the files the model should see (`show`: an image goes to a model that takes images, as an image)
 * and the files that go to the person with the reply (`send`). Only references travel: the journal
 * keeps these, and the bytes are read from the blob store when they are used.
 */
export interface ToolFiles {
  text: string;
  show: Attachment[];
  send: Attachment[];
}

/** A tool's answer with files: `return withFiles("Screenshot saved …", { show: [a] })`. */
export function withFiles(text: string, files: { show?: Attachment[]; send?: Attachment[] }): ToolFiles {
  return { [MARK]: true, text, show: files.show ?? [], send: files.send ?? [] } as ToolFiles;
}

/** The files of a value `withFiles` made (across copies of agentd), or null for any other value. */
export function filesOf(value: unknown): ToolFiles | null {
  if (value === null || typeof value !== "object" || !(value as Record<symbol, unknown>)[MARK]) return null;
  const v = value as ToolFiles;
  return { text: String(v.text), show: [...v.show], send: [...v.send] };
}
