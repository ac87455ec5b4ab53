import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CANNOT_HEAR_REPLY } from "../src/media/reader.ts";
import { UNPAIRED_REPLY } from "../src/sessions/inbox.ts";
import { sessions } from "../src/sessions/store.ts";
import type { testAgentd } from "./support/app.ts";
import { BACKENDS } from "./support/backends.ts";
import { sentTo, telegramRig } from "./support/telegram-rig.ts";
import type { TelegramFile } from "./support/telegram-server.ts";
import { until } from "./support/wait.ts";

const ALICE = { id: 601, is_bot: false, first_name: "Alice", username: "alice" };
const MALLORY = { id: 666, is_bot: false, first_name: "Mallory" };

/** Distinct bytes per file, so a test can tell which size of a photo was stored. */
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256));

let updateId = 5000;
const mediaUpdate = (
  from: { id: number; first_name: string },
  fields: Record<string, unknown>,
  update_id = updateId++,
) => ({
  update_id,
  message: {
    message_id: update_id,
    date: Math.floor(Date.now() / 1000),
    chat: { id: from.id, type: "private", first_name: from.first_name },
    from,
    ...fields,
  },
});
const photoSize = (f: TelegramFile, side: number, size: number | undefined = f.file_size) => ({
  file_id: f.file_id,
  file_unique_id: f.file_unique_id,
  width: side,
  height: side,
  ...(size === undefined ? {} : { file_size: size }),
});

const userOf = (body: any) => body.messages.filter((m: any) => m.role === "user").at(-1);
const textOf = (m: any): string =>
  typeof m.content === "string"
    ? m.content
    : m.content
        .filter((p: any) => p.type === "text")
        .map((p: any) => p.text)
        .join("\n");
const imageUrls = (m: any): string[] =>
  Array.isArray(m.content) ? m.content.filter((p: any) => p.type === "image_url").map((p: any) => p.image_url.url) : [];

for (const b of BACKENDS) {
  describe(`telegram media (${b.name})`, () => {
    async function setup(t: { after(fn: () => unknown): void }, opts: Parameters<typeof testAgentd>[2] = {}) {
      const env = await telegramRig(t, b, opts);
      const { tg, post } = env;
      const { code } = await env.app.tenants.createPairingCode(env.tenantId);
      assert.equal((await post(mediaUpdate(ALICE, { text: `/start ${code}` }))).status, 200);
      const scope = env.app.tenants.scope(env.tenantId);
      const userMessages = async () => {
        const s = await sessions.find(scope, "telegram", String(ALICE.id));
        return s ? (await sessions.history(scope, s.id)).filter((m) => m.role === "user") : [];
      };
      const blobRows = () =>
        scope.all<{ id: string; source: string }>("SELECT id, source FROM os_blobs WHERE tenant_id = $tenant");
      return { ...env, tg, post, userMessages, blobRows };
    }

    test("a photo with a caption: the largest size is stored, the message carries it, the model gets it; a redelivery changes nothing", async (t) => {
      const { app, model, tg, post, userMessages, blobRows, tenantId } = await setup(t);
      const small = tg.addFile(bytes(100, 1), { extension: "jpg" });
      const large = tg.addFile(bytes(5000, 2), { extension: "jpg" });
      model.script({ text: "A nice picture." });
      const u = mediaUpdate(ALICE, {
        photo: [photoSize(small, 90), photoSize(large, 800)],
        caption: "what is in this photo?",
      });
      assert.equal((await post(u)).status, 200);
      assert.deepEqual(tg.downloads, [large.file_path]);

      // 200 means persisted: the message and its blob are there already.
      const [m] = await userMessages();
      assert.equal(m?.content, "what is in this photo?");
      assert.equal(m?.attachments?.length, 1);
      const a = m!.attachments![0]!;
      assert.deepEqual({ kind: a.kind, mime: a.mime, size: a.size }, { kind: "image", mime: "image/jpeg", size: 5000 });
      const blob = await app.blobs.get(tenantId, a.id);
      assert.deepEqual(Buffer.from(blob!.data), bytes(5000, 2));
      assert.deepEqual(
        (await blobRows()).map((r) => r.source),
        [`tg:${u.update_id}`],
      );

      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "A nice picture."), "the reply");
      assert.ok(tg.callsOf("sendChatAction").some((c) => c.params.action === "typing"));
      const asked = userOf(model.requests.at(-1)!.body);
      assert.deepEqual(imageUrls(asked), [`data:image/jpeg;base64,${bytes(5000, 2).toString("base64")}`]);
      assert.equal(textOf(asked), "what is in this photo?");

      // Telegram delivers the same update again: no second download, blob, message or turn.
      assert.equal((await post(u)).status, 200);
      assert.equal((await post(u)).status, 200);
      assert.deepEqual(tg.downloads, [large.file_path]);
      assert.equal((await blobRows()).length, 1);
      assert.equal((await userMessages()).length, 1);
      await app.kernel.result(m!.runId!);
      assert.equal(model.calls, 1);
      assert.equal(sentTo(tg, ALICE.id).filter((c) => c.params.text === "A nice picture.").length, 1);

      // A redelivery while the first attempt is still downloading waits for it: one download, one blob.
      const another = tg.addFile(bytes(3000, 9), { extension: "jpg" });
      const v = mediaUpdate(ALICE, { photo: [photoSize(another, 600)] });
      assert.deepEqual(
        (await Promise.all([post(v), post(v), post(v)])).map((r) => r.status),
        [200, 200, 200],
      );
      assert.deepEqual(tg.downloads, [large.file_path, another.file_path]);
      assert.equal((await blobRows()).length, 2);
      assert.equal((await userMessages()).length, 2);
    });

    test("the largest photo size within the limit is taken; a document over the limit gets a polite reply, no download and no turn", async (t) => {
      const { model, tg, post, userMessages, blobRows } = await setup(t, { config: { maxMediaBytes: 4000 } });
      const fits = tg.addFile(bytes(3000, 3));
      const tooBig = tg.addFile(bytes(6000, 4));
      model.script({ text: "A photo without words." });
      assert.equal(
        (await post(mediaUpdate(ALICE, { photo: [photoSize(fits, 300), photoSize(tooBig, 900)] }))).status,
        200,
      );
      assert.deepEqual(tg.downloads, [fits.file_path]);
      await until(
        () => sentTo(tg, ALICE.id).find((c) => c.params.text === "A photo without words."),
        "the reply to the photo",
      );

      const doc = tg.addFile(bytes(6000, 5), { extension: "pdf" });
      const before = tg.callsOf("getFile").length;
      const r = await post(
        mediaUpdate(ALICE, {
          document: {
            file_id: doc.file_id,
            file_unique_id: doc.file_unique_id,
            file_name: "big.pdf",
            mime_type: "application/pdf",
            file_size: 6000,
          },
        }),
      );
      assert.equal(r.status, 200, "acknowledged: a redelivery could not help");
      assert.equal(
        sentTo(tg, ALICE.id).at(-1)!.params.text,
        "That file is too large for me (6 KB); I can take files up to 4 KB.",
      );
      assert.equal(tg.callsOf("getFile").length, before, "not even asked for");
      assert.equal((await userMessages()).length, 1);
      assert.equal((await blobRows()).length, 1);

      // Telegram's size missing (or wrong): the download itself stops at the limit.
      const unsized = tg.addFile(bytes(6000, 6));
      assert.equal((await post(mediaUpdate(ALICE, { photo: [photoSize(unsized, 900, undefined)] }))).status, 200);
      assert.match(sentTo(tg, ALICE.id).at(-1)!.params.text, /too large for me/);
      assert.equal((await userMessages()).length, 1);
      assert.equal((await blobRows()).length, 1);
      assert.equal(model.calls, 1);
    });

    test("an unpaired user's photo is not downloaded: they get the instructions", async (t) => {
      const { model, tg, post, blobRows } = await setup(t);
      const f = tg.addFile(bytes(500, 7));
      assert.equal((await post(mediaUpdate(MALLORY, { photo: [photoSize(f, 100)], caption: "look" }))).status, 200);
      assert.deepEqual(
        sentTo(tg, MALLORY.id).map((c) => c.params.text),
        [UNPAIRED_REPLY],
      );
      assert.equal(tg.callsOf("getFile").length, 0);
      assert.deepEqual(tg.downloads, []);
      assert.equal((await blobRows()).length, 0);
      assert.equal(model.calls, 0);
    });

    test("a voice note without a transcription model gets a plain answer; a document that is no readable PDF reaches the model with the reason; a failed download is not acknowledged and stores nothing", async (t) => {
      const { model, tg, post, userMessages, blobRows } = await setup(t);
      const voice = tg.addFile(bytes(12 * 1024, 8), { extension: "oga" });
      await post(
        mediaUpdate(ALICE, {
          voice: {
            file_id: voice.file_id,
            file_unique_id: voice.file_unique_id,
            duration: 3,
            mime_type: "audio/ogg",
            file_size: voice.file_size,
          },
        }),
      );
      // No transcription model in this deployment (test/media/ has one): said plainly, no turn.
      await until(
        () => sentTo(tg, ALICE.id).find((c) => c.params.text === CANNOT_HEAR_REPLY),
        "the answer to the voice note",
      );
      assert.equal(model.calls, 0);
      assert.equal((await userMessages()).length, 0);

      const doc = tg.addFile(Buffer.from("%PDF-1.4 tiny"), { extension: "pdf" });
      model.script({ text: "Got the invoice." });
      await post(
        mediaUpdate(ALICE, {
          document: {
            file_id: doc.file_id,
            file_unique_id: doc.file_unique_id,
            file_name: "invoice.pdf",
            mime_type: "application/pdf",
          },
          caption: "file this",
        }),
      );
      await until(
        () => sentTo(tg, ALICE.id).find((c) => c.params.text === "Got the invoice."),
        "the reply to the document",
      );
      const docMessage = (await userMessages()).at(-1)!;
      assert.equal(
        textOf(userOf(model.requests.at(-1)!.body)),
        `file this\n[document "invoice.pdf", application/pdf, 13 B, ${docMessage.attachments![0]!.id}] (not read: the PDF could not be read: it is not a readable PDF)`,
      );

      // Telegram can't give the file right now (its own trouble): a 500, so Telegram delivers the update again.
      const calls = model.calls;
      const later = tg.addFile(Buffer.from("later"), { extension: "txt" });
      tg.failNext("getFile", 502);
      const u = mediaUpdate(ALICE, {
        document: {
          file_id: later.file_id,
          file_unique_id: later.file_unique_id,
          file_name: "a.txt",
          mime_type: "text/plain",
        },
      });
      assert.equal((await post(u)).status, 500);
      assert.equal((await userMessages()).length, 1, "the document's message; the voice note started nothing");
      assert.equal((await blobRows()).length, 2);
      assert.equal(model.calls, calls);

      // Telegram will never give this one (an invalid file id): the message is kept with a note and
      // acknowledged, so it cannot hold up every later update.
      model.script({ text: "Noted." });
      const gone = await post(
        mediaUpdate(ALICE, {
          document: {
            file_id: "no-such-file",
            file_unique_id: "x",
            file_name: "b.txt",
            mime_type: "text/plain",
            file_size: 10,
          },
          caption: "lost one",
        }),
      );
      assert.equal(gone.status, 200);
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "Noted."), "the reply to the kept message");
      const kept = (await userMessages()).at(-1)!;
      assert.match(
        kept.content,
        /^lost one\n\[an attachment was not kept: Telegram refused the file \(Bad Request: invalid file_id\)\]$/,
      );
      assert.equal(kept.attachments, undefined);
      assert.equal((await blobRows()).length, 2);
    });

    test("long polling: a file Telegram will never give does not hold up the updates after it", async (t) => {
      const { tg, ch, model } = await setup(t);
      const ac = new AbortController();
      const loop = ch.poll(ac.signal);
      t.after(async () => {
        ac.abort();
        await loop;
      });
      model.script({ text: "Noted the lost file." }, { text: "Here after the lost file." });
      tg.push(
        mediaUpdate(ALICE, {
          document: {
            file_id: "no-such-file",
            file_unique_id: "x",
            file_name: "a.txt",
            mime_type: "text/plain",
            file_size: 10,
          },
        }),
      );
      tg.push(mediaUpdate(ALICE, { text: "after the lost file" }));
      await until(
        () => sentTo(tg, ALICE.id).find((c) => c.params.text === "Here after the lost file."),
        "the reply to the message after the lost file",
      );
      assert.equal(tg.callsOf("getFile").length, 1, "asked once, not again and again");
    });
  });
}
