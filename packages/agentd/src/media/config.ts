import type { Env } from "../config/variables.ts";

/** An OpenAI-compatible audio endpoint: the model, where it is (absent: OpenAI) and its key. */
export interface AudioEndpoint {
  model: string;
  baseURL?: string;
  apiKey?: string;
}

/** What agentd does with the media people send and how it speaks back (AGENTD_TRANSCRIPTION_*, AGENTD_SPEECH_*, AGENTD_DOCUMENT_*). */
export interface MediaConfig {
  /** Voice notes and audio are transcribed here; null: they are not (the person is told). */
  transcription: AudioEndpoint | null;
  /** The largest upload the transcription server takes; larger audio goes in chunks. */
  transcriptionMaxBytes: number;
  /** The longest audio it takes in one upload (OpenAI's gpt-4o models refuse over 1,400 s); longer audio goes in chunks. */
  transcriptionMaxSeconds: number;
  /** Replies are spoken here for tenants that ask for it; null: replies stay text. */
  speech: (AudioEndpoint & { voice: string }) | null;
  /** Pages of a PDF read, and characters of a document's text kept. */
  documentMaxPages: number;
  documentMaxChars: number;
}

export const DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe";
export const DEFAULT_SPEECH_MODEL = "gpt-4o-mini-tts";

/**
 * The media settings of the environment. A transcription or speech endpoint is on when its model or
 * base URL is set, or by default with OPENAI_API_KEY when the chat model is OpenAI's itself (a key
 * for a local server is no key for OpenAI's audio).
 */
export function mediaConfig(e: Env): MediaConfig {
  const chatIsOpenAi = !(e.AGENTD_MODEL_BASE_URL || e.OPENAI_BASE_URL);
  const endpoint = (
    model: string | undefined,
    baseURL: string | undefined,
    apiKey: string | undefined,
    dflt: string,
  ) => {
    if (baseURL) return { model: model ?? dflt, baseURL, ...(apiKey ? { apiKey } : {}) };
    // OpenAI's own: a key of its own, or OPENAI_API_KEY when the model is named or the chat is OpenAI's too.
    const key = apiKey ?? (model || chatIsOpenAi ? e.OPENAI_API_KEY : undefined);
    return key ? { model: model ?? dflt, apiKey: key } : null;
  };
  const transcription = endpoint(
    e.AGENTD_TRANSCRIPTION_MODEL,
    e.AGENTD_TRANSCRIPTION_BASE_URL,
    e.AGENTD_TRANSCRIPTION_API_KEY,
    DEFAULT_TRANSCRIPTION_MODEL,
  );
  const speech = endpoint(
    e.AGENTD_SPEECH_MODEL,
    e.AGENTD_SPEECH_BASE_URL,
    e.AGENTD_SPEECH_API_KEY,
    DEFAULT_SPEECH_MODEL,
  );
  return {
    transcription,
    transcriptionMaxBytes: e.AGENTD_TRANSCRIPTION_MAX_BYTES ?? 25_000_000,
    transcriptionMaxSeconds: e.AGENTD_TRANSCRIPTION_MAX_SECONDS ?? 1200,
    speech: speech ? { ...speech, voice: e.AGENTD_SPEECH_VOICE ?? "alloy" } : null,
    documentMaxPages: e.AGENTD_DOCUMENT_MAX_PAGES ?? 50,
    documentMaxChars: e.AGENTD_DOCUMENT_MAX_CHARS ?? 60_000,
  };
}
