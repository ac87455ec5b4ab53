import { showUrl } from "../net/url-secrets.ts";
import type { AudioEndpoint, MediaConfig } from "./config.ts";
import { NO_TRANSCRIPTION_HINT } from "./transcribe.ts";

export const NO_SPEECH_HINT =
  "replies stay text: set OPENAI_API_KEY (OpenAI's gpt-4o-mini-tts), or AGENTD_SPEECH_BASE_URL (+ AGENTD_SPEECH_MODEL) for an OpenAI-compatible server such as Kokoro-FastAPI; tenants then turn voiceReplies on";

const where = (e: AudioEndpoint) => `${e.model} at ${showUrl(e.baseURL ?? "https://api.openai.com/v1")}`;

/**
 * `agentd doctor`'s lines for media: where voice notes are transcribed and replies spoken, or how to
 * set that up. No call is made: each would be paid for. Neither is a failure (documents are read
 * either way), only a note of what people will not get.
 */
export function checkMedia(c: MediaConfig): { name: string; ok: boolean; text: string }[] {
  return [
    {
      name: "voice notes",
      ok: true,
      text: c.transcription ? `transcribed by ${where(c.transcription)}` : NO_TRANSCRIPTION_HINT,
    },
    {
      name: "speech",
      ok: true,
      text: c.speech ? `spoken by ${where(c.speech)}, voice ${c.speech.voice}` : NO_SPEECH_HINT,
    },
  ];
}
