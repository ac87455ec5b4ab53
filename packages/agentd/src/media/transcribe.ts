import type * as Ai from "ai";
import { loadAi, loadOpenAI } from "../agent/ai-sdk.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { SecretReader } from "../vault/reader.ts";
import { splitAudio } from "./chunks.ts";
import { type AudioEndpoint, DEFAULT_TRANSCRIPTION_MODEL, type MediaConfig } from "./config.ts";
import { MediaReadError } from "./errors.ts";
import { mediaTexts, sha256 } from "./texts.ts";

/** A tenant's own transcription key, in its vault: its voice notes go to the same endpoint, paid by it. */
export const TENANT_TRANSCRIPTION_SECRET = "TRANSCRIPTION_API_KEY";

export const NO_TRANSCRIPTION_HINT =
  "voice notes are not transcribed: set OPENAI_API_KEY (OpenAI's gpt-4o-mini-transcribe), or AGENTD_TRANSCRIPTION_BASE_URL (+ AGENTD_TRANSCRIPTION_MODEL) for an OpenAI-compatible server such as faster-whisper-server; a tenant may store its own TRANSCRIPTION_API_KEY in its vault";

export interface TranscribeDeps {
  config: Pick<MediaConfig, "transcription" | "transcriptionMaxBytes" | "transcriptionMaxSeconds">;
  /** The tenant's vault, read when a voice note comes (its own key). */
  secrets(scope: TenantScope): SecretReader;
  now(): number;
  /** Another fetch (tests count the requests); the global one by default. */
  fetch?: typeof fetch;
}

/**
 * Voice notes and audio to text through an OpenAI-compatible `/audio/transcriptions` endpoint (the
 * AI SDK's transcription model): the operator's, or the tenant's own key at the same place. The
 * transcript is kept by the hash of the audio (texts.ts) before it is returned, so the same audio is
 * never paid for twice; audio over the server's upload limit goes in parts (chunks.ts).
 */
export class Transcriber {
  readonly #d: TranscribeDeps;
  constructor(d: TranscribeDeps) {
    this.#d = d;
  }

  /** The endpoint a tenant's voice notes go to, or null when this deployment (and the tenant) has none. */
  async endpointFor(scope: TenantScope): Promise<AudioEndpoint | null> {
    const own = await this.#d.secrets(scope).get(TENANT_TRANSCRIPTION_SECRET);
    const op = this.#d.config.transcription;
    if (own)
      return {
        model: op?.model ?? DEFAULT_TRANSCRIPTION_MODEL,
        ...(op?.baseURL ? { baseURL: op.baseURL } : {}),
        apiKey: own,
      };
    return op;
  }

  /** The transcript of `data`, from the store when this audio was transcribed before. Throws MediaReadError. */
  async transcribe(scope: TenantScope, data: Uint8Array, mime: string): Promise<string> {
    const hash = sha256(data);
    const kept = await mediaTexts.get(scope, hash, "transcript");
    if (kept !== null) return kept;
    const endpoint = await this.endpointFor(scope);
    if (!endpoint) throw new MediaReadError("failed", NO_TRANSCRIPTION_HINT);
    const parts = splitAudio(data, {
      maxBytes: this.#d.config.transcriptionMaxBytes,
      maxSeconds: this.#d.config.transcriptionMaxSeconds,
    });
    if (!parts)
      throw new MediaReadError(
        "failed",
        `the audio is longer than the transcription server takes in one upload (${this.#d.config.transcriptionMaxBytes} bytes) and its format (${mime}) cannot be cut: send it as a voice note (Ogg) or WAV`,
      );
    const [{ createOpenAI }, ai] = await Promise.all([loadOpenAI(), loadAi()]);
    const provider = createOpenAI({
      apiKey: endpoint.apiKey ?? "unused",
      ...(endpoint.baseURL ? { baseURL: endpoint.baseURL } : {}),
      ...(this.#d.fetch ? { fetch: this.#d.fetch } : {}),
      name: "agentd",
    });
    const model = provider.transcription(endpoint.model);
    const texts: string[] = [];
    for (const part of parts) {
      try {
        const r = await ai.transcribe({ model, audio: part, maxRetries: 1, abortSignal: AbortSignal.timeout(300_000) });
        texts.push(r.text.trim());
      } catch (e) {
        throw classify(ai, e, endpoint);
      }
    }
    const text = texts.filter(Boolean).join(" ");
    await mediaTexts.put(scope, hash, "transcript", text, this.#d.now());
    return text;
  }
}

/** A failed call as the person and the agent may read it: the status and what to check, never the key or the URL's credentials. */
function classify(ai: typeof Ai, e: unknown, endpoint: AudioEndpoint): MediaReadError {
  const where = endpoint.model;
  // After its retries the SDK throws a RetryError; the last answer is what the server said.
  const last = ai.RetryError.isInstance(e) ? e.lastError : e;
  const status = ai.APICallError.isInstance(last) ? last.statusCode : undefined;
  if (status === 401 || status === 403)
    return new MediaReadError("failed", `the transcription server (${where}) refused the key (HTTP ${status})`);
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429)
    return new MediaReadError(
      "failed",
      `the transcription server (${where}) could not read this audio (HTTP ${status})`,
    );
  return new MediaReadError(
    "unavailable",
    `the transcription server (${where}) did not answer${status ? ` (HTTP ${status})` : ""}: try again later`,
  );
}
