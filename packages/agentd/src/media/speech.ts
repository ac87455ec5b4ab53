import { loadAi, loadOpenAI } from "../agent/ai-sdk.ts";
import type { Attachment, BlobStore } from "../blobs/types.ts";
import type { HistoryItem } from "../agent/prompt.ts";
import { isOgg } from "./chunks.ts";
import type { MediaConfig } from "./config.ts";

/** When a tenant's replies are spoken too: never, when the person wrote by voice, or always. */
export type VoiceReplies = "off" | "voice" | "always";

/** OpenAI's /audio/speech takes at most this many characters; a longer reply is spoken up to here (spokenPart). */
const MAX_SPOKEN_CHARS = 4096;

/**
 * Replies as voice notes: the reply's text spoken by the AI SDK's speech model (OpenAI's
 * /v1/audio/speech or a server that speaks it) as Ogg/Opus, what Telegram's sendVoice and WhatsApp's
 * audio messages play, kept as the tenant's blob and sent after the text. The text stays the reply
 * in the history. A server that answers in another format is sent as an audio file.
 */
export class Speaker {
  readonly #config: Pick<MediaConfig, "speech">;
  readonly #blobs: Pick<BlobStore, "put">;
  readonly #fetch: typeof fetch | undefined;

  constructor(o: { config: Pick<MediaConfig, "speech">; blobs: Pick<BlobStore, "put">; fetch?: typeof fetch }) {
    this.#config = o.config;
    this.#blobs = o.blobs;
    this.#fetch = o.fetch;
  }

  /** Whether a reply to `history`'s last message is spoken under `mode` (`asked`: the person asked to hear it, speak_reply). */
  wanted(mode: VoiceReplies, history: HistoryItem[], asked = false): boolean {
    if (!this.#config.speech || mode === "off") return false;
    if (mode === "always" || asked) return true;
    const last = history.findLast((m) => m.role === "user");
    return Boolean(last?.attachments?.some((a) => a.kind === "audio"));
  }

  /** The reply spoken and kept (`source`: where it came from, the run); throws when the server fails. */
  async speak(tenantId: string, text: string, source: string): Promise<Attachment> {
    const s = this.#config.speech;
    if (!s) throw new Error("no speech model is set (AGENTD_SPEECH_MODEL, AGENTD_SPEECH_BASE_URL)");
    const [{ createOpenAI }, { generateSpeech }] = await Promise.all([loadOpenAI(), loadAi()]);
    const provider = createOpenAI({
      apiKey: s.apiKey ?? "unused",
      ...(s.baseURL ? { baseURL: s.baseURL } : {}),
      ...(this.#fetch ? { fetch: this.#fetch } : {}),
      name: "agentd",
    });
    const r = await generateSpeech({
      model: provider.speech(s.model),
      text: spokenPart(speakable(text)),
      voice: s.voice,
      outputFormat: "opus",
      maxRetries: 1,
      abortSignal: AbortSignal.timeout(120_000),
    });
    const data = r.audio.uint8Array;
    const ogg = isOgg(data);
    return this.#blobs.put(tenantId, data, {
      mime: ogg ? "audio/ogg" : r.audio.mediaType || "audio/mpeg",
      name: ogg ? "reply.ogg" : "reply-audio",
      source,
    });
  }
}

const REST_IN_TEXT = " The rest is in my written reply.";

/** What is spoken of a long reply: whole sentences up to the server's limit, then a pointer to the text (sent in full). */
export function spokenPart(text: string): string {
  if (text.length <= MAX_SPOKEN_CHARS) return text;
  const room = text.slice(0, MAX_SPOKEN_CHARS - REST_IN_TEXT.length);
  const end = Math.max(room.lastIndexOf(". "), room.lastIndexOf("? "), room.lastIndexOf("! "));
  return (end > room.length / 2 ? room.slice(0, end + 1) : room) + REST_IN_TEXT;
}

/** Markdown a voice should not read out: emphasis marks, code fences, link targets. */
function speakable(text: string): string {
  return text
    .replace(/```[\s\S]*?```/g, " ")
    .replace(/\[([^\]\n]{1,200})\]\([^)\s]{1,2000}\)/g, "$1")
    .replace(/[*_`#>]+/g, "")
    .replace(/\s+/g, " ")
    .trim();
}
