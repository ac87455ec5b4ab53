import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { generateText } from "ai";
import { withMedia } from "../src/agent/media.ts";
import { statusOf } from "../src/api/errors.ts";
import { historyMessages, type HistoryItem } from "../src/agent/prompt.ts";
import { LocalBlobStore, MediaTooLargeError } from "../src/blobs/local.ts";
import { loadConfig } from "../src/config.ts";
import { sessions } from "../src/sessions/store.ts";
import { served } from "./support/api.ts";
import { testAgentd } from "./support/app.ts";
import { BACKENDS } from "./support/backends.ts";

/** A real 1×1 PNG, so what reaches the model is an image a model could decode. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);
const OGG = new Uint8Array([0x4f, 0x67, 0x67, 0x53, 0, 2, ...Array.from({ length: 3000 }, (_, i) => i % 251)]);

/** Whether the model step puts images in (the one-line change in turn.ts); until then images reach the model as notes. */

/** The user messages of a chat completion request, as the provider sent them. */
const userMessages = (body: any): any[] => body.messages.filter((m: any) => m.role === "user");
const imageUrls = (m: any): string[] =>
  Array.isArray(m.content) ? m.content.filter((p: any) => p.type === "image_url").map((p: any) => p.image_url.url) : [];
const textOf = (m: any): string =>
  typeof m.content === "string"
    ? m.content
    : m.content
        .filter((p: any) => p.type === "text")
        .map((p: any) => p.text)
        .join("\n");

for (const b of BACKENDS) {
  describe(`media: blob store, attachments, images to the model (${b.name})`, () => {
    test("bytes are stored per tenant under the data folder, owner-only, atomically; another tenant can't read them", async (t) => {
      const { app, tenantId, place } = await testAgentd(t, b);
      const other = await app.tenants.create("other", {});
      const a = await app.blobs.put(tenantId, PNG, { mime: "image/png", name: "dot.png", source: "test" });
      assert.match(a.id, /^blob_/);
      assert.deepEqual(
        { ...a, id: "x" },
        { id: "x", kind: "image", mime: "image/png", size: PNG.byteLength, name: "dot.png" },
      );
      const got = await app.blobs.get(tenantId, a.id);
      assert.ok(got);
      assert.deepEqual(Buffer.from(got.data), PNG);
      assert.deepEqual(got.attachment, a);
      assert.equal(await app.blobs.get(other.id, a.id), null, "another tenant's id is unknown to this one");
      assert.equal(await app.blobs.get(tenantId, "blob_nope"), null);

      // The same bytes again: their own id, one file on disk; nothing half-written left behind.
      const again = await app.blobs.put(tenantId, PNG, { mime: "image/png" });
      assert.notEqual(again.id, a.id);
      const dir = join(place.dataDir, "blobs", tenantId);
      const files = readdirSync(dir);
      assert.equal(files.length, 1, files.join(", "));
      assert.equal(statSync(join(dir, files[0]!)).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(statSync(join(place.dataDir, "blobs")).mode & 0o777, 0o700);
      assert.deepEqual(readFileSync(join(dir, files[0]!)), PNG);

      // Another tenant storing the same bytes gets its own path: tenants never share a file.
      await app.blobs.put(other.id, PNG, { mime: "image/png" });
      assert.equal(readdirSync(join(place.dataDir, "blobs", other.id)).length, 1);
    });

    test("a file over the limit is a typed 413 and nothing is stored", async (t) => {
      const { app, tenantId, place } = await testAgentd(t, b, { config: { maxMediaBytes: 1000 } });
      await assert.rejects(app.blobs.put(tenantId, new Uint8Array(1001), { mime: "application/pdf" }), (e: unknown) => {
        assert.ok(MediaTooLargeError.is(e));
        assert.equal(statusOf(e), 413);
        assert.match(e.message, /1001 B.*1000 B.*AGENTD_MAX_MEDIA_BYTES/);
        return true;
      });
      assert.equal((await app.blobs.put(tenantId, new Uint8Array(1000), { mime: "application/pdf" })).size, 1000);
      assert.equal(readdirSync(join(place.dataDir, "blobs", tenantId)).length, 1);
      const rows = await app.tenants.scope(tenantId).all("SELECT id FROM os_blobs WHERE tenant_id = $tenant");
      assert.equal(rows.length, 1);
      // The limit comes from the environment too (20 MB unless set).
      assert.equal(
        new LocalBlobStore({ dir: place.dataDir, scope: (id) => app.tenants.scope(id) }).maxBytes,
        20 * 1024 * 1024,
      );
      assert.equal(
        loadConfig({ AGENTD_ADMIN_TOKEN: "adm_media-test-0123456789", AGENTD_DATA: place.dataDir }).maxMediaBytes,
        20 * 1024 * 1024,
      );
      assert.equal(
        loadConfig({
          AGENTD_ADMIN_TOKEN: "adm_media-test-0123456789",
          AGENTD_DATA: place.dataDir,
          AGENTD_MAX_MEDIA_BYTES: "5000000",
        }).maxMediaBytes,
        5_000_000,
      );
    });

    test("a message carries its attachments; the turn's journal holds references, never bytes", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      const big = Buffer.concat([PNG, Buffer.alloc(200_000, 7)]); // large enough that bytes in the journal would show
      const image = await app.blobs.put(tenantId, big, { mime: "image/png", name: "big.png" });
      const voice = await app.blobs.put(tenantId, OGG, { mime: "audio/ogg", name: "voice-note.ogg" });
      const r = await app.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c1",
        text: "what is this?",
        sourceKey: "k1",
        attachments: [image, voice],
      });
      assert.deepEqual(r.message.attachments, [image, voice]);
      await app.kernel.result(r.runId);

      const scope = app.tenants.scope(tenantId);
      const stored = await sessions.message(scope, r.message.id);
      assert.deepEqual(stored?.attachments, [image, voice]);
      const journal = JSON.stringify(await app.kernel.journal(r.runId));
      assert.ok(journal.includes(image.id), "the context names the blob");
      assert.ok(journal.length < 20_000, `journal of ${journal.length} characters: bytes must not be journaled`);

      // A redelivery (same source key) is the same message: no second turn.
      const dup = await app.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c1",
        text: "what is this?",
        sourceKey: "k1",
        attachments: [image],
      });
      assert.equal(dup.duplicate, true);
      assert.equal(dup.runId, r.runId);
      assert.deepEqual(dup.message.attachments, [image, voice]);

      // A message without attachments has none (the column stays NULL).
      const plain = await app.inbox.receive({ tenantId, channel: "http", conversation: "c1", text: "thanks" });
      assert.equal(plain.message.attachments, undefined);
      await app.kernel.result(plain.runId);
      // The turn's model call: the image as an image part when the model step applies withMedia,
      // the voice note as a note either way.
      const users = userMessages(model.requests.at(-1)!.body);
      assert.match(
        textOf(users.at(-2)),
        new RegExp(
          `^what is this\\?\\n(\\[photo "big.png", image/png, 195 KB, ${image.id}\\]\\n)?\\[audio "voice-note.ogg", audio/ogg, 3 KB, ${voice.id}\\]$`,
        ),
      );
      assert.deepEqual(imageUrls(users.at(-2)), [`data:image/png;base64,${big.toString("base64")}`]);
    });

    test("end to end: a turn's model call carries the image of its message", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      const image = await app.blobs.put(tenantId, PNG, { mime: "image/png" });
      const r = await app.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c1",
        text: "what is this?",
        attachments: [image],
      });
      await app.kernel.result(r.runId);
      const users = userMessages(model.requests.at(-1)!.body);
      assert.deepEqual(imageUrls(users.at(-1)), [`data:image/png;base64,${PNG.toString("base64")}`]);
      assert.equal(textOf(users.at(-1)), "what is this?");
    });

    test("withMedia: recent images go to the model as image parts (data URLs); older ones, voice notes and lost blobs as notes", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      const old = await app.blobs.put(tenantId, PNG, { mime: "image/png", name: "old.png" });
      const recent = await app.blobs.put(tenantId, PNG, { mime: "image/png" });
      const voice = await app.blobs.put(tenantId, OGG, { mime: "audio/ogg", name: "voice-note.ogg" });
      const heic = await app.blobs.put(tenantId, new Uint8Array([1, 2, 3]), { mime: "image/heic" });
      const lost = { id: "blob_gone", kind: "image" as const, mime: "image/jpeg", size: 5 };
      const history: HistoryItem[] = [
        { role: "user", content: "an old photo", attachments: [old] },
        { role: "assistant", content: "nice" },
        { role: "user", content: "one" },
        { role: "user", content: "two" },
        { role: "user", content: "listen", attachments: [voice, heic] },
        { role: "user", content: "", attachments: [lost] },
        { role: "event", content: "a reminder fired" },
        { role: "user", content: "and this one?", attachments: [recent] },
      ];
      const plain = historyMessages(history);
      const messages = await withMedia(
        [...plain, { role: "assistant", content: "tool talk" }],
        history,
        app.blobs,
        tenantId,
      );
      assert.equal(messages.length, plain.length + 1);
      assert.deepEqual(
        messages.at(-1),
        { role: "assistant", content: "tool talk" },
        "messages after the history pass through",
      );
      assert.equal(plain[0]!.content, `an old photo\n[photo "old.png", image/png, ${PNG.byteLength} B, ${old.id}]`);

      await generateText({ model: app.models!.chat, messages, maxRetries: 0 });
      const users = userMessages(model.requests.at(-1)!.body);
      assert.deepEqual(users.map(imageUrls), [
        [],
        [],
        [],
        [],
        [],
        [],
        [`data:image/png;base64,${PNG.toString("base64")}`],
      ]);
      assert.match(
        textOf(users[0]),
        new RegExp(`^an old photo\\n\\[photo "old.png", image/png, \\d+ B, ${old.id}\\]$`),
        "beyond the last 4 user messages: a note",
      );
      assert.equal(
        textOf(users[3]),
        `listen\n[audio "voice-note.ogg", audio/ogg, 3 KB, ${voice.id}]\n[photo, image/heic, 3 B, ${heic.id}]`,
      );
      assert.equal(textOf(users[4]), "[photo, image/jpeg, 5 B, blob_gone, unavailable]");
      assert.equal(textOf(users[5]), "[background] a reminder fired");
      assert.equal(textOf(users[6]), "and this one?");

      // Another tenant's blob id in a history never yields its bytes.
      const other = await app.tenants.create("other", {});
      const foreign = await withMedia(
        historyMessages([{ role: "user", content: "x", attachments: [recent] }]),
        [{ role: "user", content: "x", attachments: [recent] }],
        app.blobs,
        other.id,
      );
      assert.deepEqual(foreign[0], {
        role: "user",
        content: [{ type: "text", text: `x\n[photo, image/png, ${PNG.byteLength} B, ${recent.id}, unavailable]` }],
      });
    });

    test("GET /v1/blobs/:id returns the bytes with their type to the owning tenant only; /v1/blobs lists them", async (t) => {
      const s = await served(t, b);
      const a = await s.app.blobs.put(s.tenantId, PNG, { mime: "image/png", name: "dot.png" });
      const res = await fetch(`${s.url}/v1/blobs/${a.id}`, { headers: { authorization: `Bearer ${s.key}` } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "image/png");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.match(res.headers.get("content-disposition") ?? "", /^attachment; filename="dot.png"$/);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), PNG);

      const list = await s.call("GET", "/v1/blobs");
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.blobs.map((x: { id: string }) => x.id),
        [a.id],
      );

      const other = await s.app.tenants.create("other", {});
      const { key } = await s.app.tenants.createApiKey(other.id);
      const theirs = await s.call("GET", `/v1/blobs/${a.id}`, { token: key });
      assert.equal(theirs.status, 404);
      assert.equal(theirs.body.error.code, "not_found");
      assert.deepEqual((await s.call("GET", "/v1/blobs", { token: key })).body.blobs, []);
      assert.equal((await s.call("GET", `/v1/blobs/${a.id}`, { token: null })).status, 401);
      assert.equal((await s.call("GET", "/v1/blobs/blob_missing")).status, 404);
    });
  });
}
