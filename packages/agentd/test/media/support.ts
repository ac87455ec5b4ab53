import type { MediaConfig } from "../../src/media/config.ts";
import type { AudioServer } from "../support/audio-server.ts";

/** Media settings for a test: transcription (and speech) at the audio stand-in, or none. */
export function mediaAt(audio: AudioServer | null, over: Partial<MediaConfig> = {}): MediaConfig {
  const endpoint = audio ? { baseURL: audio.url, apiKey: audio.apiKey } : null;
  return {
    transcription: endpoint ? { model: "whisper-stand-in", ...endpoint } : null,
    transcriptionMaxBytes: 25_000_000,
    transcriptionMaxSeconds: 1200,
    speech: endpoint ? { model: "tts-stand-in", voice: "alloy", ...endpoint } : null,
    documentMaxPages: 50,
    documentMaxChars: 60_000,
    ...over,
  };
}

/** The text of the last user message a model request carried (string or parts). */
export function lastUserText(body: any): string {
  const m = body.messages.filter((x: any) => x.role === "user").at(-1);
  return typeof m.content === "string"
    ? m.content
    : m.content
        .filter((p: any) => p.type === "text")
        .map((p: any) => p.text)
        .join("\n");
}
