import { z } from "zod";
import { flag, int, url, v } from "./kinds.ts";

/** Voice notes, documents and spoken replies (src/media/), a part of `Env` (variables.ts). */
export const mediaVariables = {
  AGENTD_TRANSCRIPTION_MODEL: v(z.string().min(1).optional(), {
    section: "media",
    doc: "the model that transcribes voice notes and audio (OpenAI's /v1/audio/transcriptions or a server that speaks it); without one, people are told voice notes cannot be heard here",
    default: "gpt-4o-mini-transcribe with OPENAI_API_KEY at OpenAI, else none",
  }),
  AGENTD_TRANSCRIPTION_BASE_URL: v(url(["https:", "http:"], "http://127.0.0.1:8000/v1").optional(), {
    section: "media",
    doc: "an OpenAI-compatible transcription server instead of OpenAI (faster-whisper-server, LocalAI, vLLM, Groq)",
    secret: true,
  }),
  AGENTD_TRANSCRIPTION_API_KEY: v(z.string().optional(), {
    section: "media",
    doc: "the transcription server's key (a tenant's own: TRANSCRIPTION_API_KEY in its vault)",
    default: "OPENAI_API_KEY",
    secret: true,
  }),
  AGENTD_TRANSCRIPTION_MAX_BYTES: v(int(1024, 1 << 30).optional(), {
    section: "media",
    doc: "the largest upload the transcription server takes: longer audio (WAV, Ogg) is sent in chunks of at most this",
    default: "25000000",
  }),
  AGENTD_TRANSCRIPTION_MAX_SECONDS: v(int(10, 86_400).optional(), {
    section: "media",
    doc: "the longest audio sent in one upload (OpenAI's gpt-4o transcription models refuse over 1,400 s): longer WAV or Ogg audio is sent in chunks of at most this",
    default: "1200",
  }),
  AGENTD_SPEECH_MODEL: v(z.string().min(1).optional(), {
    section: "media",
    doc: "the model that speaks replies as voice notes (/v1/audio/speech), for tenants whose voiceReplies setting asks for it",
    default: "gpt-4o-mini-tts with OPENAI_API_KEY at OpenAI, else none",
  }),
  AGENTD_SPEECH_BASE_URL: v(url(["https:", "http:"], "http://127.0.0.1:8880/v1").optional(), {
    section: "media",
    doc: "an OpenAI-compatible speech server instead of OpenAI (Kokoro-FastAPI, LocalAI)",
    secret: true,
  }),
  AGENTD_SPEECH_API_KEY: v(z.string().optional(), {
    section: "media",
    doc: "the speech server's key",
    default: "OPENAI_API_KEY",
    secret: true,
  }),
  AGENTD_SPEECH_VOICE: v(z.string().min(1).max(64).optional(), {
    section: "media",
    doc: "the voice replies are spoken in",
    default: "alloy",
  }),
  AGENTD_DOCUMENT_MAX_PAGES: v(int(1, 10_000).optional(), {
    section: "media",
    doc: "pages of a PDF read; the rest is cut with a note",
    default: "50",
  }),
  AGENTD_DOCUMENT_MAX_CHARS: v(int(1000, 10_000_000).optional(), {
    section: "media",
    doc: "characters of a document's text kept for the model; the rest is cut with a note",
    default: "60000",
  }),
  AGENTD_MODEL_PDFS: v(flag.optional(), {
    section: "media",
    doc: "1: the model takes PDFs as files (recent PDFs are sent whole, not only their text)",
    default: "0",
  }),
};
