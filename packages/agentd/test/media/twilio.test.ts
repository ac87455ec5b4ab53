/**
 * Twilio's two paths, SMS (MMS) and WhatsApp: a voice note (espeak-ng speech, fetched from the
 * Messages API stand-in) is transcribed and understood, a PDF is read, and with voiceReplies "voice"
 * the answer to the voice note goes out as the text and then a media message whose signed link
 * Twilio fetches serves the spoken reply as Ogg/Opus, each once.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createApi } from "../../src/api/index.ts";
import { outbox } from "../../src/channels/outbox.ts";
import { speak, startAudioServer } from "../support/audio-server.ts";
import { BACKENDS } from "../support/backends.ts";
import { PUBLIC_URL, setup } from "../support/twilio-rig.ts";
import { until } from "../support/wait.ts";
import { makePdf } from "./files.ts";
import { lastUserText, mediaAt } from "./support.ts";

const PATHS = [
  { name: "SMS (MMS)", user: "+15550004320", said: "cancel my dentist appointment" },
  { name: "WhatsApp", user: "whatsapp:+15550004321", said: "cancel my hairdresser appointment" },
];

for (const b of BACKENDS) {
  describe(`voice notes and PDFs through Twilio (${b.name})`, () => {
    for (const path of PATHS)
      test(`${path.name}: a voice note is transcribed and understood, answered in text and as an Ogg/Opus voice note; a PDF is read`, async (t) => {
        const audio = await startAudioServer();
        t.after(() => audio.close());
        const { app, tw, ch, model, inbound, pair, tenantId } = await setup(
          t,
          b,
          {},
          { config: { media: mediaAt(audio) }, tenantSettings: { voiceReplies: "voice" } },
        );
        await pair(path.user);
        const mine = () => tw.messages.filter((m) => m.to === path.user && !/pair|Paired/i.test(m.body));
        const heard = `${path.said[0]!.toUpperCase()}${path.said.slice(1)}.`;
        const note = await speak(path.said, "opus");
        audio.knows(note, heard);
        const url = tw.addMedia(note, "audio/ogg");
        model.script({ text: "It is cancelled." });
        const r = await inbound(path.user, "", {
          extra: { NumMedia: "1", MediaUrl0: url, MediaContentType0: "audio/ogg" },
        });
        assert.equal(r.status, 200);
        assert.equal(audio.uploads.length, 1);
        assert.deepEqual(audio.uploads[0]!.bytes, note);
        assert.equal(audio.uploads[0]!.type, "audio/ogg");
        const voice = await until(() => mine().find((m) => m.mediaUrl), "the spoken reply");
        assert.match(
          lastUserText(model.requests.at(-1)!.body),
          new RegExp(`<transcript of="[^"]+">\\n${heard}\\n</transcript>`),
        );
        // The text first, then the voice note: each one message, each an outbox part of the reply.
        assert.deepEqual(
          mine().map((m) => [m.body, Boolean(m.mediaUrl)]),
          [
            ["It is cancelled.", false],
            ["reply.ogg", true],
          ],
        );
        assert.deepEqual(
          audio.speeches.map((s) => [s.input, s.format]),
          [["It is cancelled.", "opus"]],
        );
        const run = (await app.kernel.listRuns({ workflow: "agent.turn" }))[0]!;
        const scope = app.tenants.scope(tenantId);
        const sids = mine().map((m) => m.sid);
        // The part is recorded sent once Twilio's answer is back, a moment after the stand-in keeps it.
        await until(
          async () => (await outbox.parts(scope, `reply:${run.id}`)).map((p) => p.externalId).join() === sids.join(),
          "both parts recorded as sent",
        );
        // What Twilio fetches from the signed link: the spoken reply, Ogg/Opus, as the type WhatsApp plays.
        const api = createApi(app, { mounts: [{ path: new URL(PUBLIC_URL).pathname, app: ch.webhook }] });
        const got = await api.request(voice.mediaUrl!.slice(new URL(voice.mediaUrl!).origin.length));
        assert.equal(got.status, 200);
        assert.equal(got.headers.get("content-type"), "audio/ogg");
        const bytes = Buffer.from(await got.arrayBuffer());
        assert.equal(bytes.subarray(0, 4).toString("latin1"), "OggS");
        assert.ok(bytes.includes("OpusHead"), "Opus in Ogg");
        // The history keeps the text as the reply.
        assert.equal((await app.kernel.result<{ text: string }>(run.id)).text, "It is cancelled.");

        const pdf = await makePdf([["Prescription", "Amoxicillin 500 mg, three times a day"], ["Refills: 2"]]);
        const doc = tw.addMedia(pdf, "application/pdf");
        model.script({ text: "Three times a day." });
        await inbound(path.user, "how often?", {
          extra: { NumMedia: "1", MediaUrl0: doc, MediaContentType0: "application/pdf" },
        });
        await until(() => tw.messages.find((m) => m.body === "Three times a day."), "the answer about the PDF");
        const asked = lastUserText(model.requests.at(-1)!.body);
        assert.match(
          asked,
          /^how often\?\n\[document, application\/pdf, [^\]]+\]\n<untrusted source="document [^"]+">\n--- page 1 ---/,
        );
        assert.match(asked, /Amoxicillin 500 mg, three times a day/);
        assert.match(asked, /--- page 2 ---\nRefills: 2\n<\/untrusted>$/);
        assert.equal(audio.speeches.length, 1, "a typed question is answered in text only");
      });
  });
}
