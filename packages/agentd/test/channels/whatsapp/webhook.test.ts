import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WHATSAPP_CLOUD } from "../../../src/channels/whatsapp/index.ts";
import { sessions } from "../../../src/sessions/store.ts";
import { BACKENDS } from "../../support/backends.ts";
import { until } from "../../support/wait.ts";
import { VERIFY_TOKEN, whatsappRig } from "../../support/whatsapp-rig.ts";
import { batchPayload, messagePayload, signBody, webhookBody } from "../../support/whatsapp-server.ts";

const ALICE = "15557770001";
const BOB = "15557770002";

for (const b of BACKENDS) {
  describe(`whatsapp cloud api (${b.name})`, () => {
    test("Meta's verification handshake: the challenge is echoed for the right verify token only", async (t) => {
      const { ch } = await whatsappRig(t, b);
      const ok = await ch.webhook.request(
        `/?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`,
      );
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), "1158201444");
      const wrong = await ch.webhook.request("/?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1");
      assert.equal(wrong.status, 403);
      assert.equal(
        (await ch.webhook.request(`/?hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`)).status,
        403,
      );
    });

    test("a missing or wrong X-Hub-Signature-256 is refused with 401 and nothing is stored; malformed bodies get 400 with the reason", async (t) => {
      const { app, wa, post, pair, tenantId, logs } = await whatsappRig(t, b);
      await pair(ALICE);
      const sent = wa.messages.length;
      const payload = messagePayload(wa.phoneNumberId, ALICE, { type: "text", text: { body: "hi" } });
      assert.equal((await post(payload, null)).status, 401);
      assert.equal((await post(payload, signBody("not-the-secret", webhookBody(payload)))).status, 401);
      assert.equal((await post(payload, "sha256=00")).status, 401);
      // Signed right, but over other bytes: the body was altered on the way.
      const altered = await post(
        webhookBody(payload).replace('"hi"', '"rm -rf"'),
        signBody(wa.appSecret, webhookBody(payload)),
      );
      assert.equal(altered.status, 401);
      assert.equal((await app.kernel.listRuns({})).length, 0);
      assert.equal(wa.messages.length, sent, "nothing answered");
      const scope = app.tenants.scope(tenantId);
      assert.equal(await sessions.latest(scope), null, "no session, no message");

      const notJson = await post("{nope");
      assert.equal(notJson.status, 400);
      assert.match(notJson.body, /not JSON/);
      const wrongObject = await post({ object: "page", entry: [] });
      assert.equal(wrongObject.status, 400);
      assert.match(wrongObject.body, /object/);
      const noId = await post({
        object: "whatsapp_business_account",
        entry: [
          {
            id: "1",
            changes: [
              {
                field: "messages",
                value: { metadata: { phone_number_id: wa.phoneNumberId }, messages: [{ from: ALICE, type: "text" }] },
              },
            ],
          },
        ],
      });
      assert.equal(noId.status, 400);
      assert.match(noId.body, /messages\.0: id/);
      assert.equal((await app.kernel.listRuns({})).length, 0);

      // An unknown field is fine, and so is a change of another kind (account updates).
      const extra = messagePayload(wa.phoneNumberId, ALICE, {
        type: "text",
        text: { body: "hello" },
        brand_new_field: { x: 1 },
      });
      (extra.entry[0]!.changes as unknown[]).push({ field: "account_update", value: { event: "VERIFIED_ACCOUNT" } });
      assert.equal((await post(extra)).status, 200);
      const s = await sessions.latest(scope);
      assert.deepEqual(
        (await sessions.history(scope, s!.id)).filter((m) => m.role === "user").map((m) => m.content),
        ["hello"],
        "persisted before the 200",
      );

      // A bad item among good ones is skipped and logged: Meta would redeliver the same body forever.
      const mixed = batchPayload(wa.phoneNumberId, ALICE, [
        { type: "text" },
        { type: "text", text: { body: "the good one" } },
      ]);
      (mixed.entry[0]!.changes[0]!.value as unknown as { messages: { id?: string }[] }).messages[0]!.id = undefined;
      assert.equal((await post(mixed)).status, 200);
      assert.deepEqual(
        (await sessions.history(scope, s!.id)).filter((m) => m.role === "user").map((m) => m.content),
        ["hello", "the good one"],
      );
      assert.ok(
        logs.some((l) => /skipped.*messages\.0: id/.test(l)),
        logs.join("\n"),
      );
    });

    test("an unknown number gets pairing instructions and never a turn, once even when the request is replayed after a restart; /start CODE pairs it", async (t) => {
      const { app, wa, text, post, to, tenantId, restarted } = await whatsappRig(t, b);
      const hello = await text(BOB, "hello?");
      assert.equal(hello.status, 200);
      assert.equal((await app.kernel.listRuns({})).length, 0);
      assert.match(to(BOB).at(-1)!.text, /pairing code/);
      assert.equal(
        (await post(hello.payload, undefined, restarted().webhook)).status,
        200,
        "a captured request replayed later",
      );
      assert.equal(to(BOB).length, 1, "no second instructions message");
      await text(BOB, "/start ZZZZZZZZ");
      assert.match(to(BOB).at(-1)!.text, /unknown, used or expired/);
      const { code } = await app.tenants.createPairingCode(tenantId);
      await text(BOB, `/start ${code}`, { name: "Bob" });
      assert.match(to(BOB).at(-1)!.text, /Paired/);
      assert.equal(await app.tenants.tenantOf(WHATSAPP_CLOUD, BOB), tenantId);
      assert.equal((await app.kernel.listRuns({})).length, 0);
      assert.ok(wa.calls.every((c) => c.status === 200));
    });

    test("a paired person's message gets a typing indicator and the model's reply; a redelivered wamid starts no second turn", async (t) => {
      const { app, wa, model, text, pair, to } = await whatsappRig(t, b);
      await pair(ALICE);
      const before = to(ALICE).length;
      model.script({ text: "Hello **Alice**, from the agent." });
      const first = await text(ALICE, "hi there");
      assert.equal(first.status, 200);
      const [run] = await app.kernel.listRuns({});
      await app.kernel.result(run!.id);
      const reply = await until(
        () =>
          to(ALICE)
            .slice(before)
            .find((m) => m.type === "text"),
        "the reply",
      );
      assert.equal(reply.text, "Hello *Alice*, from the agent.");
      assert.ok(
        wa.reads.some((r) => r.messageId === first.id && r.typing),
        "typing shown on the person's message",
      );

      assert.equal((await text(ALICE, "hi there", { id: first.id })).status, 200, "Meta's redelivery is acknowledged");
      assert.equal((await app.kernel.listRuns({})).length, 1);
      assert.equal(model.calls, 1);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(to(ALICE).length, before + 1, "no second reply");
    });

    test("a body with raw UTF-8 is checked the way Meta signs it (over the \\u-escaped text); the same bytes signed as they are do not pass", async (t) => {
      const { app, wa, post, pair, tenantId } = await whatsappRig(t, b);
      await pair(ALICE);
      const payload = messagePayload(wa.phoneNumberId, ALICE, { type: "text", text: { body: "naïve café 😀" } });
      const raw = JSON.stringify(payload);
      assert.ok(/[^\0-~]/.test(raw), "raw UTF-8 on the wire");
      assert.equal((await post(raw, signBody(wa.appSecret, raw))).status, 401);
      assert.equal((await post(raw, signBody(wa.appSecret, webhookBody(payload)))).status, 200);
      const scope = app.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      assert.deepEqual(
        (await sessions.history(scope, s!.id)).filter((m) => m.role === "user").map((m) => m.content),
        ["naïve café 😀"],
      );
    });

    test("while a long turn works, the typing indicator is shown again on the person's message before WhatsApp drops it", async (t) => {
      const { app, wa, model, text, pair } = await whatsappRig(t, b, { channel: { typingRefreshMs: 250 } });
      await pair(ALICE);
      model.script({ text: "A slow answer, written word by word. ".repeat(8), tokenDelayMs: 40 });
      const m = await text(ALICE, "take your time");
      const [run] = await app.kernel.listRuns({});
      await app.kernel.result(run!.id);
      const marks = wa.reads.filter((r) => r.messageId === m.id && r.typing);
      assert.ok(marks.length >= 3, `${marks.length} typing indicators`);
      const after = wa.reads.length;
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(wa.reads.length, after, "none once the turn is over");
    });

    test("several messages in one POST are each persisted, in order, and each answered", async (t) => {
      const { app, wa, post, pair, tenantId } = await whatsappRig(t, b);
      await pair(ALICE);
      const r = await post(
        batchPayload(wa.phoneNumberId, ALICE, [
          { type: "text", text: { body: "first" } },
          { type: "text", text: { body: "second" } },
        ]),
      );
      assert.equal(r.status, 200);
      const scope = app.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      assert.deepEqual(
        (await sessions.history(scope, s!.id)).filter((m) => m.role === "user").map((m) => m.content),
        ["first", "second"],
      );
      const runs = await app.kernel.listRuns({});
      assert.equal(runs.length, 2);
      for (const run of runs) await app.kernel.result(run.id);
    });
  });
}
