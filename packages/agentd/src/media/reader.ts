import type { Attachment, AttachmentText } from "../blobs/types.ts";
import type { MemoryStore } from "../memory/store.ts";
import { MAX_MEMORY_CHARS } from "../memory/store.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { MediaConfig } from "./config.ts";
import { readDocument } from "./documents.ts";
import { MediaReadError } from "./errors.ts";
import type { MediaPort } from "./port.ts";
import { sha256 } from "./texts.ts";
import { type TranscribeDeps, Transcriber } from "./transcribe.ts";

/** What the person is told when a voice note alone comes and nothing here can hear it. */
export const CANNOT_HEAR_REPLY =
  "I can't listen to voice notes on this deployment (no transcription model is set up). Please type your message instead.";

const NO_MODEL_NOTE =
  "this deployment has no transcription model (the operator can set one up: `agentd doctor` says how)";

/**
 * The media port: voice notes and audio transcribed (transcribe.ts), the transcript also kept in
 * the tenant's memory so a later search finds what was said; documents read (documents.ts).
 */
export class MediaReader implements MediaPort {
  readonly transcriber: Transcriber;
  readonly #config: MediaConfig;
  readonly #memory: Pick<MemoryStore, "add">;

  constructor(o: TranscribeDeps & { config: MediaConfig; memory: Pick<MemoryStore, "add"> }) {
    this.transcriber = new Transcriber(o);
    this.#config = o.config;
    this.#memory = o.memory;
  }

  async hears(scope: TenantScope): Promise<boolean> {
    return (await this.transcriber.endpointFor(scope)) !== null;
  }

  async read(scope: TenantScope, a: Attachment, data: Uint8Array): Promise<AttachmentText | null> {
    if (a.kind === "audio") {
      if (!(await this.hears(scope))) throw new MediaReadError("failed", NO_MODEL_NOTE);
      const content = await this.transcriber.transcribe(scope, data, a.mime);
      await this.#remember(scope, sha256(data), content);
      return { kind: "transcript", content };
    }
    if (a.kind !== "document") return null;
    const doc = await readDocument(data, a.mime, a.name, {
      maxPages: this.#config.documentMaxPages,
      maxChars: this.#config.documentMaxChars,
    });
    return doc ? { kind: "document", content: doc.text, ...(doc.cut ? { cut: doc.cut } : {}) } : null;
  }

  /** The transcript in memory, in pieces a memory holds; keyed by the audio, so a second delivery adds nothing. */
  async #remember(scope: TenantScope, hash: string, text: string): Promise<void> {
    const prefix = "Voice note: ";
    const size = MAX_MEMORY_CHARS - prefix.length;
    for (let i = 0, n = 0; i < text.length; i += size, n++)
      await this.#memory.add(scope, {
        content: prefix + text.slice(i, i + size),
        source: "transcript",
        key: `transcript:${hash}:${n}`,
      });
  }
}
