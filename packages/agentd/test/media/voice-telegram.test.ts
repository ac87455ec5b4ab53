import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createApi } from "../../src/api/index.ts";
import { CANNOT_HEAR_REPLY } from "../../src/media/reader.ts";
import { startAudioServer, opus, speak } from "../support/audio-server.ts";
import { BACKENDS } from "../support/backends.ts";
import { pairingTelegramRig, sentTo, userMessages } from "../support/telegram-rig.ts";
import { nextUpdateId } from "../support/telegram-updates.ts";
import { until } from "../support/wait.ts";
import { lastUserText, mediaAt } from "./support.ts";

const ALICE = { id: 701, is_bot: false, first_name: "Alice", username: "alice" };

const voiceUpdate = (file: { file_id: string; file_unique_id: string; file_size: number }, fields: object = {}) => {
  const update_id = nextUpdateId();
  return {
    update_id,
    message: {
      message_id: update_id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: ALICE.id, type: "private", first_name: ALICE.first_name },
      from: ALICE,
      voice: { ...file, duration: 3, mime_type: "audio/ogg" },
      ...fields,
    },
  };
};

for (const b of BACKENDS) {
  describe(`voice notes on Telegram (${b.name})`, () => {
    test("a voice note is transcribed once, kept with the message, marked in the model's context, served in the history and found in memory", async (t) => {
      const audio = await startAudioServer();
      t.after(() => audio.close());
      const env = await pairingTelegramRig(t, b, { config: { media: mediaAt(audio) } });
      const { app, tg, post, model, tenantId } = env;
      await env.pair(ALICE);

      const note = await speak("please remind me to buy oat milk tomorrow", "opus");
      audio.knows(note, "Please remind me to buy oat milk tomorrow.");
      const file = tg.addFile(note, { extension: "oga" });
      model.script({ text: "I will remind you to buy oat milk tomorrow." });
      const u = voiceUpdate(file);
      assert.equal((await post(u)).status, 200);

      // The upload was a real multipart request with the audio as it came.
      assert.equal(audio.uploads.length, 1);
      const up = audio.uploads[0]!;
      assert.equal(up.model, "whisper-stand-in");
      assert.equal(up.type, "audio/ogg");
      assert.equal(up.filename, "audio.ogg");
      assert.deepEqual(up.bytes, note);

      // Stored with the message: the transcript is part of its attachment.
      const [m] = await userMessages(app, tenantId);
      assert.equal(m?.attachments?.[0]?.text?.kind, "transcript");
      assert.equal(m?.attachments?.[0]?.text?.content, "Please remind me to buy oat milk tomorrow.");
      // The history the API serves (the dashboard's and the terminal's source) shows it with the file.
      const { key } = await app.tenants.createApiKey(tenantId);
      const history = await createApi(app).request(`/v1/sessions/${m!.sessionId}/messages`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const served = ((await history.json()) as { messages: { attachments?: { text?: unknown }[] }[] }).messages;
      assert.deepEqual(served[0]?.attachments?.[0]?.text, {
        kind: "transcript",
        content: "Please remind me to buy oat milk tomorrow.",
      });

      await until(
        () => sentTo(tg, ALICE.id).find((c) => c.params.text === "I will remind you to buy oat milk tomorrow."),
        "the reply",
      );
      const asked = lastUserText(model.requests.at(-1)!.body);
      assert.match(asked, /<transcript of="blob_[^"]+">\nPlease remind me to buy oat milk tomorrow\.\n<\/transcript>/);

      // Searchable in memory.
      const hits = await app.memory.search(app.tenants.scope(tenantId), "oat milk");
      assert.ok(
        hits.some((h) => h.content.includes("buy oat milk") && h.source === "transcript"),
        "in memory",
      );

      // A redelivery transcribes nothing again; the same audio sent again is not paid for twice either.
      assert.equal((await post(u)).status, 200);
      assert.equal(audio.uploads.length, 1);
      const again = tg.addFile(note, { extension: "oga" });
      model.script({ text: "Noted again." });
      assert.equal((await post(voiceUpdate(again))).status, 200);
      assert.equal(audio.uploads.length, 1, "the same audio is found by its hash");
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "Noted again."), "the second reply");
      assert.equal((await app.memory.search(app.tenants.scope(tenantId), "oat milk")).length, 1);
    });

    test("long audio goes in parts the server can read; a refused upload leaves a note; a server down fails the update for a redelivery", async (t) => {
      const audio = await startAudioServer();
      t.after(() => audio.close());
      const env = await pairingTelegramRig(t, b, {
        config: { media: mediaAt(audio, { transcriptionMaxBytes: 40_000 }) },
      });
      const { app, tg, post, model, tenantId } = env;
      await env.pair(ALICE);

      const wav = await speak("one two three four five six seven eight nine ten eleven twelve thirteen fourteen");
      assert.ok(wav.byteLength > 80_000, `${wav.byteLength} bytes: several parts`);
      const file = tg.addFile(wav, { extension: "wav" });
      model.script({ text: "Counted." });
      const u = {
        update_id: nextUpdateId(),
        message: {
          message_id: 1,
          date: Math.floor(Date.now() / 1000),
          chat: { id: ALICE.id, type: "private" },
          from: ALICE,
          audio: { ...file, duration: 6, mime_type: "audio/wav", file_name: "count.wav" },
        },
      };
      audio.failNext(503, 503); // the SDK tries twice
      assert.equal((await post(u)).status, 500, "the transcription server is down: Telegram delivers the update again");
      assert.equal((await userMessages(app, tenantId)).length, 0);
      const before = audio.uploads.length;
      assert.equal((await post(u)).status, 200);
      const parts = audio.uploads.slice(before);
      assert.ok(parts.length >= 3, `${parts.length} parts`);
      for (const p of parts) {
        assert.ok(p.bytes.byteLength <= 40_000);
        assert.equal(p.bytes.subarray(0, 4).toString("latin1"), "RIFF");
        assert.equal(p.bytes.readUInt32LE(4), p.bytes.byteLength - 8, "each part is a whole WAV file");
      }
      const [m] = await userMessages(app, tenantId);
      assert.equal(
        m?.attachments?.[0]?.text?.content,
        parts.map((p) => `audio of ${p.bytes.byteLength} bytes`).join(" "),
      );
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "Counted."), "the reply");

      // A refused upload (the key, the format): the turn goes on and the model knows why.
      audio.failNext(401);
      const other = tg.addFile(await opus(await speak("hello")), { extension: "oga" });
      model.script({ text: "I could not hear that one." });
      assert.equal((await post(voiceUpdate(other, { caption: "listen" }))).status, 200);
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "I could not hear that one."), "the reply");
      assert.match(
        lastUserText(model.requests.at(-1)!.body),
        /not transcribed: the transcription server \(whisper-stand-in\) refused the key \(HTTP 401\)/,
      );
      assert.doesNotMatch(JSON.stringify(model.requests.at(-1)!.body), new RegExp(audio.apiKey));
    });

    test("without a transcription model, a voice note alone gets a plain answer and no turn", async (t) => {
      const env = await pairingTelegramRig(t, b, { config: { media: mediaAt(null) } });
      const { tg, post, model } = env;
      await env.pair(ALICE);
      const file = tg.addFile(await speak("hello", "opus"), { extension: "oga" });
      assert.equal((await post(voiceUpdate(file))).status, 200);
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === CANNOT_HEAR_REPLY), "the plain answer");
      assert.equal(model.calls, 0);
    });

    test("a tenant's own TRANSCRIPTION_API_KEY from its vault is what the upload carries", async (t) => {
      const audio = await startAudioServer();
      t.after(() => audio.close());
      // The deployment's key is one the server refuses: only the tenant's own gets through.
      const media = mediaAt(audio);
      const env = await pairingTelegramRig(t, b, {
        config: { media: { ...media, transcription: { ...media.transcription!, apiKey: "operator-key-refused" } } },
      });
      const { app, tg, post, model, tenantId } = env;
      await env.pair(ALICE);
      await app.vault.put(app.tenants.scope(tenantId), "TRANSCRIPTION_API_KEY", audio.apiKey);
      const note = await speak("water the plants", "opus");
      audio.knows(note, "Water the plants.");
      model.script({ text: "I will remind you to water the plants." });
      assert.equal((await post(voiceUpdate(tg.addFile(note, { extension: "oga" })))).status, 200);
      assert.equal(audio.uploads.length, 1);
      const [m] = await userMessages(app, tenantId);
      assert.equal(m?.attachments?.[0]?.text?.content, "Water the plants.");
      await until(
        () => sentTo(tg, ALICE.id).find((c) => c.params.text === "I will remind you to water the plants."),
        "the reply",
      );
    });
  });
}
