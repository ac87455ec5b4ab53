import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { outbox } from "../../src/channels/outbox.ts";
import { sessions } from "../../src/sessions/store.ts";
import { speak, startAudioServer } from "../support/audio-server.ts";
import { BACKENDS } from "../support/backends.ts";
import { pairingTelegramRig, sentTo } from "../support/telegram-rig.ts";
import { nextUpdateId } from "../support/telegram-updates.ts";
import { until } from "../support/wait.ts";
import { whatsappRig } from "../support/whatsapp-rig.ts";
import { messagePayload } from "../support/whatsapp-server.ts";
import { makePdf } from "./files.ts";
import { lastUserText, mediaAt } from "./support.ts";

const CARL = { id: 704, is_bot: false, first_name: "Carl", username: "carl" };
const WA_DORA = "15550001234";

const isOggOpus = (b: Uint8Array) =>
  Buffer.from(b).subarray(0, 4).toString("latin1") === "OggS" && Buffer.from(b).includes("OpusHead");

for (const b of BACKENDS) {
  describe(`spoken replies and media on the other channels (${b.name})`, () => {
    test("Telegram: a tenant with voiceReplies 'voice' gets its reply to a voice note as text and as an Ogg/Opus voice note; a text gets text only, unless the person asks to hear it (speak_reply); 'off' speaks nothing", async (t) => {
      const audio = await startAudioServer();
      t.after(() => audio.close());
      const env = await pairingTelegramRig(t, b, {
        config: { media: mediaAt(audio) },
        tenantSettings: { voiceReplies: "voice" },
      });
      const { tg, post, model, app } = env;
      await env.pair(CARL);
      const note = await speak("what time is it in Tokyo", "opus");
      audio.knows(note, "What time is it in Tokyo?");
      const file = tg.addFile(note, { extension: "oga" });
      model.script({ text: "It is **nine** in the evening in Tokyo." });
      const update_id = nextUpdateId();
      const u = {
        update_id,
        message: {
          message_id: update_id,
          date: Math.floor(Date.now() / 1000),
          chat: { id: CARL.id, type: "private" },
          from: CARL,
          voice: { ...file, duration: 2, mime_type: "audio/ogg" },
        },
      };
      assert.equal((await post(u)).status, 200);
      const voice = await until(
        () => [...tg.messages.values()].find((m) => m.chat_id === String(CARL.id) && m.file?.kind === "voice"),
        "the voice note",
      );
      assert.ok(isOggOpus(voice.file!.bytes), "Ogg/Opus, as sendVoice plays");
      assert.ok(
        sentTo(tg, CARL.id).some((c) => c.params.text?.includes("nine")),
        "the text too",
      );
      assert.deepEqual(audio.speeches, [
        { model: "tts-stand-in", input: "It is nine in the evening in Tokyo.", voice: "alloy", format: "opus" },
      ]);
      // The history keeps the text as the reply, without the voice note; the run's replay would name the same blob.
      const run = (await app.kernel.listRuns({}))[0]!;
      assert.equal((await app.kernel.result<{ text: string }>(run.id)).text, "It is **nine** in the evening in Tokyo.");
      const scope = app.tenants.scope(env.tenantId);
      const history = await sessions.history(scope, (await sessions.latest(scope))!.id);
      assert.deepEqual(
        history.map((m) => [m.role, m.content, m.attachments?.length ?? 0]),
        [
          ["user", "", 1],
          ["assistant", "It is **nine** in the evening in Tokyo.", 0],
        ],
      );

      model.script({ text: "Typed answer." });
      assert.equal(
        (
          await post({
            update_id: nextUpdateId(),
            message: { message_id: 2, date: 1, chat: { id: CARL.id, type: "private" }, from: CARL, text: "and now?" },
          })
        ).status,
        200,
      );
      await until(() => sentTo(tg, CARL.id).find((c) => c.params.text === "Typed answer."), "the typed answer");
      assert.equal(audio.speeches.length, 1, "a typed message is answered in text only");

      // A typed message asking to hear the answer: the model calls speak_reply, and the reply is spoken too.
      const typed = (text: string) => ({
        update_id: nextUpdateId(),
        message: { message_id: 3, date: 1, chat: { id: CARL.id, type: "private" }, from: CARL, text },
      });
      model.script({ toolCalls: [{ name: "speak_reply", arguments: {} }] }, { text: "Sunny and warm." });
      assert.equal((await post(typed("tell me out loud: the weather?"))).status, 200);
      await until(() => audio.speeches.length === 2, "the asked-for voice note");
      assert.equal(audio.speeches[1]!.input, "Sunny and warm.");
      await until(
        () =>
          [...tg.messages.values()].filter((m) => m.chat_id === String(CARL.id) && m.file?.kind === "voice").length ===
          2,
        "sent with sendVoice",
      );
      assert.match(JSON.stringify(model.requests.at(-1)!.body.messages.at(-1)), /also be sent as a voice note/);

      // Where voice replies are off, the model is told so and nothing is spoken.
      await app.tenants.update(env.tenantId, { settings: { voiceReplies: "off" } });
      model.script({ toolCalls: [{ name: "speak_reply", arguments: {} }] }, { text: "I can only write here." });
      assert.equal((await post(typed("say it by voice"))).status, 200);
      await until(() => sentTo(tg, CARL.id).find((c) => c.params.text === "I can only write here."), "the text answer");
      assert.match(
        JSON.stringify(model.requests.at(-1)!.body.messages.at(-1)),
        /Voice replies are off for this account/,
      );
      assert.equal(audio.speeches.length, 2, "nothing spoken");
    });

    test("Telegram: when the speech server fails, the reply still goes as text, once, and no voice note is sent", async (t) => {
      const audio = await startAudioServer();
      t.after(() => audio.close());
      const env = await pairingTelegramRig(t, b, {
        config: { media: mediaAt(audio) },
        tenantSettings: { voiceReplies: "voice" },
      });
      const { tg, post, model, app } = env;
      await env.pair(CARL);
      const note = await speak("is the pharmacy open", "opus");
      audio.knows(note, "Is the pharmacy open?");
      const file = tg.addFile(note, { extension: "oga" });
      model.script({ text: "Yes, until eight." });
      audio.failNextSpeech(500, 500); // the SDK tries twice
      const update_id = nextUpdateId();
      assert.equal(
        (
          await post({
            update_id,
            message: {
              message_id: update_id,
              date: Math.floor(Date.now() / 1000),
              chat: { id: CARL.id, type: "private" },
              from: CARL,
              voice: { ...file, duration: 2, mime_type: "audio/ogg" },
            },
          })
        ).status,
        200,
      );
      const run = await until(async () => (await app.kernel.listRuns({ workflow: "agent.turn" }))[0], "the turn");
      assert.equal((await app.kernel.result<{ text: string }>(run.id)).text, "Yes, until eight.");
      assert.equal(audio.speechFailures, 2, "the speech server was asked, and failed");
      assert.equal(audio.speeches.length, 0);
      assert.equal(sentTo(tg, CARL.id).filter((c) => c.params.text === "Yes, until eight.").length, 1, "the text once");
      assert.equal(tg.callsOf("sendVoice").length, 0, "no voice note");
      const parts = await outbox.parts(app.tenants.scope(env.tenantId), `reply:${run.id}`);
      assert.equal(parts.length, 1, "the text alone is the reply's delivery");
    });

    test("WhatsApp: a voice note is transcribed and answered with an audio voice note; a PDF is read", async (t) => {
      const audio = await startAudioServer();
      t.after(() => audio.close());
      const env = await whatsappRig(t, b, {
        config: { media: mediaAt(audio) },
        tenantSettings: { voiceReplies: "voice" },
      });
      const { wa, post, model, pair, to } = env;
      await pair(WA_DORA);
      const note = await speak("book a table for two", "opus");
      audio.knows(note, "Book a table for two.");
      const id = wa.addMedia(note, "audio/ogg");
      model.script({ text: "Booked a table for two." });
      const r = await post(
        messagePayload(wa.phoneNumberId, WA_DORA, {
          type: "audio",
          audio: { id, mime_type: "audio/ogg; codecs=opus", voice: true },
        }),
      );
      assert.equal(r.status, 200);
      assert.equal(audio.uploads.length, 1);
      assert.equal(audio.uploads[0]!.type, "audio/ogg");
      const voice = await until(() => to(WA_DORA).find((m) => m.type === "audio"), "the audio reply");
      assert.equal(voice.file?.mime, "audio/ogg");
      assert.ok(isOggOpus(voice.file!.data));
      assert.ok(to(WA_DORA).some((m) => m.type === "text" && m.text === "Booked a table for two."));
      assert.match(
        lastUserText(model.requests.at(-1)!.body),
        /<transcript of="[^"]+">\nBook a table for two\.\n<\/transcript>/,
      );

      const pdf = await makePdf([["Boarding pass", "Gate B12, seat 14C"]]);
      const doc = wa.addMedia(pdf, "application/pdf");
      model.script({ text: "Gate B12." });
      await post(
        messagePayload(wa.phoneNumberId, WA_DORA, {
          type: "document",
          document: { id: doc, mime_type: "application/pdf", filename: "pass.pdf", caption: "which gate?" },
        }),
      );
      await until(() => to(WA_DORA).find((m) => m.text === "Gate B12."), "the answer about the PDF");
      assert.match(
        lastUserText(model.requests.at(-1)!.body),
        /<untrusted source="document [^"]+">\n--- page 1 ---\nBoarding pass\s*\n?Gate B12, seat 14C\n<\/untrusted>/,
      );
    });
  });
}
