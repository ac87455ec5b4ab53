/**
 * Files sent through the API (and so the dashboard's chat, which uploads them the same way) are
 * understood as the channels' are: a voice note transcribed, a PDF read, both before the message is
 * stored; a transcription server that is down is a 502 saying so, and the message sent again is
 * transcribed then, once.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { served } from "../support/api.ts";
import { speak, startAudioServer } from "../support/audio-server.ts";
import { BACKENDS } from "../support/backends.ts";
import { makePdf } from "./files.ts";
import { lastUserText, mediaAt } from "./support.ts";

for (const b of BACKENDS) {
  describe(`media through the API (${b.name})`, () => {
    test("a voice note and a PDF attached to POST /v1/messages are transcribed and read before the turn; a server down is a 502; a voice note alone needs no text", async (t) => {
      const audio = await startAudioServer();
      t.after(() => audio.close());
      const s = await served(t, b, { config: { media: mediaAt(audio) } });
      const upload = async (bytes: Uint8Array, type: string, name: string) => {
        const r = await fetch(`${s.url}/v1/blobs?name=${name}`, {
          method: "POST",
          headers: { authorization: `Bearer ${s.key}`, "content-type": type },
          body: bytes as Uint8Array<ArrayBuffer>,
        });
        assert.equal(r.status, 201);
        return ((await r.json()) as { id: string }).id;
      };
      const note = await speak("move my flight to friday", "opus");
      audio.knows(note, "Move my flight to Friday.");
      const pdf = await makePdf([["Booking LX318", "Zurich to Lisbon, Thursday 08:40"]]);
      const files = [await upload(note, "audio/ogg", "note.ogg"), await upload(pdf, "application/pdf", "booking.pdf")];

      // The transcription server is down: nothing is stored, the caller is told why and sends again.
      audio.failNext(503, 503);
      const down = await s.call("POST", "/v1/messages", { body: { text: "see these", attachments: files, id: "m1" } });
      assert.equal(down.status, 502);
      assert.equal(down.body.error.code, "transcription_unavailable");
      assert.match(down.body.error.message, /transcription server \(whisper-stand-in\) did not answer \(HTTP 503\)/);
      assert.equal((await s.app.kernel.listRuns({})).length, 0, "no turn");

      s.model.script({ text: "Your flight LX318 moves to Friday." });
      const sent = await s.call("POST", "/v1/messages", { body: { text: "see these", attachments: files, id: "m1" } });
      assert.equal(sent.status, 202);
      assert.equal(
        (await s.app.kernel.result<{ text: string }>(sent.body.runId)).text,
        "Your flight LX318 moves to Friday.",
      );
      const answered = () => audio.uploads.filter((u) => u.bytes.equals(note) && u.ms !== undefined).length;
      assert.equal(answered(), 1, "transcribed once it answered");
      const asked = lastUserText(s.model.requests.at(-1)!.body);
      assert.match(asked, /<transcript of="[^"]+">\nMove my flight to Friday\.\n<\/transcript>/);
      assert.match(asked, /<untrusted source="document [^"]+">\n--- page 1 ---\nBooking LX318/);
      const history = await s.call("GET", `/v1/sessions/${sent.body.sessionId}/messages`);
      const [stored] = history.body.messages;
      assert.deepEqual(
        stored.attachments.map((a: { text: { kind: string } }) => a.text.kind),
        ["transcript", "document"],
      );
      // The same message again (a retry) is answered from what was stored: nothing read again.
      const again = await s.call("POST", "/v1/messages", { body: { text: "see these", attachments: files, id: "m1" } });
      assert.equal(again.body.duplicate, true);
      assert.equal(answered(), 1);
      assert.equal(audio.uploads.length, 3, "two refused tries, one answer");

      // A voice note alone, no text: a message like any other; no text and no file is still refused.
      const alone = await speak("and book a taxi", "opus");
      audio.knows(alone, "And book a taxi.");
      s.model.script({ text: "A taxi is booked." });
      const only = await s.call("POST", "/v1/messages", {
        body: { attachments: [await upload(alone, "audio/ogg", "taxi.ogg")] },
      });
      assert.equal(only.status, 202);
      assert.equal((await s.app.kernel.result<{ text: string }>(only.body.runId)).text, "A taxi is booked.");
      assert.match(
        lastUserText(s.model.requests.at(-1)!.body),
        /<transcript of="[^"]+">\nAnd book a taxi\.\n<\/transcript>/,
      );
      const empty = await s.call("POST", "/v1/messages", { body: { text: " " } });
      assert.equal(empty.status, 400);
      assert.match(empty.body.error.message, /text: must not be blank \(send text, files, or both\)/);
    });
  });
}
