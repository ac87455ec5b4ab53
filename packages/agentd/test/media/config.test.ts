import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readEnv } from "../../src/config.ts";
import { mediaConfig } from "../../src/media/config.ts";
import { checkMedia } from "../../src/media/doctor.ts";
import { spokenPart } from "../../src/media/speech.ts";

const cfg = (env: Record<string, string>) => mediaConfig(readEnv(env));

describe("media settings", () => {
  test("transcription and speech: OpenAI's with its key when the chat is OpenAI's, a server of one's own by base URL, none otherwise", () => {
    assert.deepEqual(cfg({ OPENAI_API_KEY: "sk-1" }).transcription, {
      model: "gpt-4o-mini-transcribe",
      apiKey: "sk-1",
    });
    assert.deepEqual(cfg({ OPENAI_API_KEY: "sk-1" }).speech, {
      model: "gpt-4o-mini-tts",
      apiKey: "sk-1",
      voice: "alloy",
    });
    // A key for a local chat server is no key for OpenAI's audio.
    assert.equal(cfg({ OPENAI_API_KEY: "k", AGENTD_MODEL_BASE_URL: "http://127.0.0.1:11434/v1" }).transcription, null);
    assert.deepEqual(
      cfg({
        AGENTD_TRANSCRIPTION_BASE_URL: "http://127.0.0.1:8000/v1",
        AGENTD_TRANSCRIPTION_MODEL: "Systran/faster-whisper-small",
      }).transcription,
      { model: "Systran/faster-whisper-small", baseURL: "http://127.0.0.1:8000/v1" },
    );
    assert.equal(cfg({}).transcription, null);
    assert.equal(cfg({}).speech, null);
  });

  test("doctor says where voice notes go, or how to set it up, without a paid call and without a key", () => {
    const none = checkMedia(cfg({}));
    assert.match(none[0]!.text, /AGENTD_TRANSCRIPTION_BASE_URL/);
    assert.match(none[1]!.text, /AGENTD_SPEECH_BASE_URL/);
    const set = checkMedia(
      cfg({
        AGENTD_TRANSCRIPTION_BASE_URL: "http://u:pw@127.0.0.1:8000/v1",
        AGENTD_TRANSCRIPTION_API_KEY: "sekrit-key",
      }),
    );
    assert.equal(set[0]!.text, "transcribed by gpt-4o-mini-transcribe at http://127.0.0.1:8000/v1");
    assert.doesNotMatch(JSON.stringify(set), /sekrit|pw@/);
  });
});

test("a reply longer than the speech server takes is spoken to a sentence's end, then points to the text", () => {
  const sentence = "The quick brown fox jumps over the lazy dog again. ";
  const long = sentence.repeat(200).trim();
  const spoken = spokenPart(long);
  assert.ok(spoken.length <= 4096, `${spoken.length} characters`);
  assert.match(spoken, /again\. The rest is in my written reply\.$/);
  assert.ok(long.startsWith(spoken.slice(0, -" The rest is in my written reply.".length)));
  assert.equal(spokenPart("Short."), "Short.");
});
