/**
 * A reply's files through the channels that push: Twilio (an MMS or WhatsApp media message whose file
 * Twilio fetches from a signed link) and WhatsApp's Cloud API (uploaded, then sent by media id). Each
 * file is one outbox part after the text: a replayed delivery sends nothing twice, and a file whose
 * send lost its answer is found (Twilio's log) instead of sent again.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createApi } from "../../src/api/index.ts";
import { outbox } from "../../src/channels/outbox.ts";
import { WHATSAPP_CLOUD } from "../../src/channels/whatsapp/index.ts";
import { sessions } from "../../src/sessions/store.ts";
import { BACKENDS } from "../support/backends.ts";
import { PUBLIC_URL, setup } from "../support/twilio-rig.ts";
import { whatsappRig } from "../support/whatsapp-rig.ts";

const USER = "+15550007777";
const PNG = Buffer.concat([Buffer.from("\x89PNG\r\n\x1a\n", "latin1"), Buffer.alloc(300, 7)]);

for (const b of BACKENDS) {
  describe(`a reply's files out (${b.name})`, () => {
    test("Twilio: a file goes as a media message with a signed link Twilio fetches, once, though the first answer was lost", async (t) => {
      const { app, tw, ch, pair, tenantId } = await setup(t, b);
      await pair(USER);
      const scope = app.tenants.scope(tenantId);
      const session = await sessions.open(scope, "sms", USER, Date.now());
      const shot = await app.blobs.put(tenantId, PNG, { mime: "image/png", name: "screenshot.png" });
      const delivery = {
        tenantId,
        session,
        kind: "reply" as const,
        text: "Here it is.",
        key: "reply:files-1",
        files: [shot],
      };

      // The media message is created at Twilio, but its answer never arrives: the delivery fails.
      tw.intercept = (call) => {
        if (call.form.MediaUrl) {
          tw.intercept = undefined;
          tw.dropNextAnswer();
        }
      };
      await assert.rejects(app.channels.deliver(delivery));
      await app.channels.deliver(delivery);
      await app.channels.deliver(delivery);
      const mine = tw.messages.filter((m) => m.to === USER && m.body !== "" && !/pair|Paired/i.test(m.body));
      assert.deepEqual(
        mine.map((m) => [m.body, Boolean(m.mediaUrl)]),
        [
          ["Here it is.", false],
          ["screenshot.png", true],
        ],
        "the text and the file, each once",
      );
      const parts = await outbox.parts(scope, "reply:files-1");
      assert.deepEqual(
        parts.map((p) => p.externalId),
        mine.map((m) => m.sid),
      );

      // What Twilio fetches: the file, by a link under the channel's public URL; a forged link gets nothing.
      const link = mine[1]!.mediaUrl!;
      assert.ok(link.startsWith(`${PUBLIC_URL}/media/${tenantId}/${shot.id}?exp=`), link);
      const api = createApi(app, { mounts: [{ path: new URL(PUBLIC_URL).pathname, app: ch.webhook }] });
      const fetchLink = (url: string) => api.request(url.slice(new URL(url).origin.length));
      const got = await fetchLink(link);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get("content-type"), "image/png");
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), PNG);
      assert.equal((await fetchLink(link.replace(/sig=[\w-]{6}/, "sig=AAAAAA"))).status, 404);
      assert.equal((await fetchLink(link.replace(shot.id, "blob_other"))).status, 404);
    });

    test("WhatsApp Cloud API: a photo and a document uploaded and sent by media id, each once; a type it does not take is a line of text", async (t) => {
      const { app, wa, pair, tenantId, to } = await whatsappRig(t, b);
      const WA_USER = "15550006666";
      await pair(WA_USER);
      const scope = app.tenants.scope(tenantId);
      const session = await sessions.open(scope, WHATSAPP_CLOUD, WA_USER, Date.now());
      const shot = await app.blobs.put(tenantId, PNG, { mime: "image/png", name: "screenshot.png" });
      const notes = await app.blobs.put(tenantId, Buffer.from("boats: 3\n"), { mime: "text/plain", name: "notes.txt" });
      const zip = await app.blobs.put(tenantId, Buffer.alloc(10), { mime: "application/zip", name: "all.zip" });
      const delivery = {
        tenantId,
        session,
        kind: "reply" as const,
        text: "Here they are.",
        key: "reply:files-2",
        files: [shot, notes, zip],
      };
      // The document's send fails (Meta's own trouble): the delivery fails and is retried; the text and photo are not sent again.
      let sends = 0;
      wa.intercept = () => {
        if (++sends === 2) wa.failNext({ status: 500, code: 1, message: "An unknown error occurred" });
      };
      await assert.rejects(app.channels.deliver(delivery));
      await app.channels.deliver(delivery);
      await app.channels.deliver(delivery);
      const mine = to(WA_USER).filter((m) => !/Paired|pair/i.test(m.text));
      assert.deepEqual(
        mine.map((m) => [m.type, m.text, m.file?.mime ?? null, m.file?.filename ?? null]),
        [
          ["text", "Here they are.", null, null],
          ["image", "", "image/png", null],
          ["document", "", "text/plain", "notes.txt"],
          ["text", "(all.zip, application/zip, cannot be sent on WhatsApp)", null, null],
        ],
      );
      assert.deepEqual(Buffer.from(mine[1]!.file!.data), PNG);
      assert.equal(Buffer.from(mine[2]!.file!.data).toString(), "boats: 3\n");
      assert.equal(wa.uploads.length, 3, "the document uploaded again for its second try; the photo, sent, not again");
      assert.deepEqual(
        (await outbox.parts(scope, "reply:files-2")).map((p) => p.externalId),
        mine.map((m) => m.id),
      );
    });
  });
}
