import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { sessions } from "../../../src/sessions/store.ts";
import { BACKENDS } from "../../support/backends.ts";
import { until } from "../../support/wait.ts";
import { whatsappRig } from "../../support/whatsapp-rig.ts";
import { messagePayload } from "../../support/whatsapp-server.ts";

const ALICE = "15557770001";
const BOB = "15557770002";
const imageUrls = (m: any): string[] =>
  Array.isArray(m.content) ? m.content.filter((p: any) => p.type === "image_url").map((p: any) => p.image_url.url) : [];

for (const b of BACKENDS) {
  describe(`whatsapp cloud api (${b.name})`, () => {
    test("a photo with a caption is downloaded with the token from Meta's media URL into the blob store and reaches the model; a redelivery downloads nothing again", async (t) => {
      const { app, wa, model, post, pair, tenantId } = await whatsappRig(t, b);
      await pair(ALICE);
      const bytes = Buffer.alloc(3000, 7);
      const mediaId = wa.addMedia(bytes, "image/jpeg");
      model.script({ text: "A nice photo." });
      const payload = messagePayload(wa.phoneNumberId, ALICE, {
        type: "image",
        image: {
          id: mediaId,
          mime_type: "image/jpeg",
          sha256: createHash("sha256").update(bytes).digest("base64"),
          caption: "what is this?",
        },
      });
      assert.equal((await post(payload)).status, 200);
      const [run] = await app.kernel.listRuns({});
      await app.kernel.result(run!.id);
      const scope = app.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      const [m] = (await sessions.history(scope, s!.id)).filter((x) => x.role === "user");
      assert.equal(m!.content, "what is this?");
      assert.deepEqual(
        m!.attachments?.map((a) => [a.kind, a.mime, a.size]),
        [["image", "image/jpeg", 3000]],
      );
      const stored = await app.blobs.get(tenantId, m!.attachments![0]!.id);
      assert.deepEqual(stored?.data, new Uint8Array(bytes));
      const asked = model.requests.at(-1)!.body.messages.findLast((x: any) => x.role === "user");
      assert.deepEqual(imageUrls(asked), [`data:image/jpeg;base64,${bytes.toString("base64")}`]);
      assert.deepEqual(
        wa.mediaCalls.map((c) => c.authorization),
        [`Bearer ${wa.token}`],
      );

      assert.equal((await post(payload)).status, 200);
      assert.equal(wa.mediaCalls.length, 1, "no second download");
      assert.equal((await app.kernel.listRuns({})).length, 1, "no second turn");
    });

    test("media refusals: too large is answered without a turn; a file twice not matching its hash, or on a URL off Meta's hosts (never given the token), is noted and dropped; an unknown sender's file is not fetched", async (t) => {
      const { app, wa, post, pair, text, to, logs, tenantId } = await whatsappRig(t, b, {
        config: { maxMediaBytes: 1000 },
      });
      await pair(ALICE);
      const big = wa.addMedia(Buffer.alloc(2000, 1), "image/png");
      assert.equal(
        (
          await post(
            messagePayload(wa.phoneNumberId, ALICE, { type: "image", image: { id: big, mime_type: "image/png" } }),
          )
        ).status,
        200,
      );
      assert.match(to(ALICE).at(-1)!.text, /too large/);
      assert.equal((await app.kernel.listRuns({})).length, 0);
      assert.equal(wa.mediaCalls.length, 0, "refused from the size Meta announced, before downloading");

      // A download that does not match its announced hash is tried again at once; twice wrong, the message goes on without it.
      const lied = wa.addMedia(Buffer.alloc(500, 2), "image/png", { sha256: "0".repeat(64) });
      assert.equal(
        (
          await post(
            messagePayload(wa.phoneNumberId, ALICE, {
              type: "image",
              image: { id: lied, mime_type: "image/png", caption: "corrupt" },
            }),
          )
        ).status,
        200,
      );
      assert.equal(wa.mediaCalls.length, 2, "downloaded twice, then given up");
      const [corrupt] = await app.kernel.listRuns({});
      await app.kernel.result(corrupt!.id);

      const offsite = wa.addMedia(Buffer.alloc(10, 3), "application/pdf", { url: "https://evil.example.test/steal" });
      const doc = {
        type: "document",
        document: { id: offsite, mime_type: "application/pdf", filename: "a.pdf", caption: "my doc" },
      };
      assert.equal((await post(messagePayload(wa.phoneNumberId, ALICE, doc))).status, 200);
      assert.ok(logs.some((l) => /Meta's hosts only/.test(l)));
      assert.equal(wa.mediaCalls.length, 2, "the off-site URL was never asked");
      const runs = await until(async () => {
        const r = await app.kernel.listRuns({});
        return r.length === 2 && r;
      }, "two turns");
      for (const r of runs) await app.kernel.result(r.id);
      const scope = app.tenants.scope(tenantId);
      const kept = (await sessions.history(scope, (await sessions.latest(scope))!.id))
        .filter((m) => m.role === "user")
        .map((m) => m.content);
      assert.deepEqual(
        kept.map((c) => c.split("\n")[0]),
        ["corrupt", "my doc"],
      );
      assert.ok(
        kept.every((c) => /\[an attachment was not kept: /.test(c)),
        kept.join(" | "),
      );

      const before = wa.mediaCalls.length;
      const photo = wa.addMedia(Buffer.alloc(10, 4), "image/jpeg");
      assert.equal(
        (await post(messagePayload(wa.phoneNumberId, BOB, { type: "image", image: { id: photo } }))).status,
        200,
      );
      assert.equal(wa.mediaCalls.length, before);
      assert.match(to(BOB).at(-1)!.text, /pairing code/);

      assert.equal((await text(ALICE, "x")).status, 200);
      // The turn's reply comes when it comes: wait for it, or under load it lands after the location's answer.
      await until(() => to(ALICE).some((m) => m.text === "ok: x"), "the reply to x");
      assert.equal(
        (
          await post(
            messagePayload(wa.phoneNumberId, ALICE, { type: "location", location: { latitude: 1, longitude: 2 } }),
          )
        ).status,
        200,
      );
      assert.match(to(ALICE).at(-1)!.text, /not this kind of message/);
    });
  });
}
