import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UNPAIRED_REPLY } from "../../../src/sessions/inbox.ts";
import { BACKENDS } from "../../support/backends.ts";
import { sentTo, WEBHOOK_SECRET as SECRET, pairingTelegramRig, userMessages } from "../../support/telegram-rig.ts";
import { until } from "../../support/wait.ts";
import { nextUpdateId, textUpdate } from "../../support/telegram-updates.ts";

const ALICE = { id: 501, is_bot: false, first_name: "Alice", username: "alice" };

for (const b of BACKENDS) {
  describe(`telegram channel (${b.name})`, () => {
    const setup = (t: { after(fn: () => unknown): void }, opts?: Parameters<typeof pairingTelegramRig>[2]) =>
      pairingTelegramRig(t, b, opts);

    test("an unpaired user gets instructions and no turn; /start CODE pairs; then the model's reply arrives", async (t) => {
      const { app, model, tg, post, tenantId } = await setup(t);
      assert.equal((await post(textUpdate(ALICE, "hello?"))).status, 200);
      assert.deepEqual(
        sentTo(tg, ALICE.id).map((c) => c.params.text),
        [UNPAIRED_REPLY],
      );
      assert.equal(model.calls, 0);
      assert.equal((await userMessages(app, tenantId)).length, 0);

      assert.equal((await post(textUpdate(ALICE, "/start WRONGCODE1"))).status, 200);
      assert.match(sentTo(tg, ALICE.id).at(-1)!.params.text, /unknown, used or expired/);

      const { code } = await app.tenants.createPairingCode(tenantId);
      assert.equal((await post(textUpdate(ALICE, `/start ${code}`))).status, 200);
      assert.match(sentTo(tg, ALICE.id).at(-1)!.params.text, /Paired/);
      assert.equal(await app.tenants.tenantOf("telegram", String(ALICE.id)), tenantId);

      model.script({ text: "Hi Alice, how can I help?" });
      assert.equal((await post(textUpdate(ALICE, "hi there"))).status, 200);
      // 200 means persisted: the message is already in the session.
      assert.deepEqual(
        (await userMessages(app, tenantId)).map((m) => m.content),
        ["hi there"],
      );
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "Hi Alice, how can I help?"));
      assert.equal(model.calls, 1);
      assert.ok(tg.callsOf("sendChatAction").some((c) => c.params.action === "typing"));
    });

    test("a forged webhook is 401 and nothing is stored; a malformed one is 400 with the reason; a redelivered update_id makes no second turn", async (t) => {
      const { app, model, tg, ch, post, pair, tenantId } = await setup(t);
      await pair(ALICE);
      const calls = tg.calls.length;
      assert.equal((await post(textUpdate(ALICE, "forged"), "wrong-secret")).status, 401);
      assert.equal((await post(textUpdate(ALICE, "forged"), null)).status, 401);
      assert.equal((await post(textUpdate(ALICE, "forged"), `${SECRET}x`)).status, 401);
      assert.equal(tg.calls.length, calls, "no Bot API call for a forged update");
      assert.equal((await userMessages(app, tenantId)).length, 0);
      // With the secret but malformed: 400 with the reason, in the API's error shape.
      const raw = (body: string) =>
        ch.webhook.request("/", {
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET },
          body,
        });
      const notJson = await raw("{oops");
      assert.equal(notJson.status, 400);
      assert.deepEqual(await notJson.json(), { error: { code: "bad_request", message: "the body is not JSON" } });
      const noId = await raw(JSON.stringify({ message: { text: "hi" } }));
      assert.equal(noId.status, 400);
      assert.match(((await noId.json()) as { error: { message: string } }).error.message, /update_id is missing/);
      assert.equal((await userMessages(app, tenantId)).length, 0);

      const u = textUpdate(ALICE, "once only");
      assert.equal((await post(u)).status, 200);
      assert.equal((await post(u)).status, 200);
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "ok: once only"));
      assert.equal((await post(u)).status, 200);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await userMessages(app, tenantId)).length, 1);
      assert.equal(model.calls, 1);
      assert.equal(sentTo(tg, ALICE.id).filter((c) => c.params.text === "ok: once only").length, 1);
    });

    test("correctly signed but malformed updates (a message without from, message: {}, a string) are acknowledged and logged, never 500", async (t) => {
      const errors: string[] = [];
      const { app, model, tg, ch, post, pair, tenantId } = await setup(t, {
        channel: { onError: (e) => errors.push(String(e)) },
      });
      await pair(ALICE);
      const { from: _from, ...noSender } = textUpdate(ALICE, "who am I").message;
      const bodies = [
        { update_id: nextUpdateId(), message: noSender },
        { update_id: nextUpdateId(), message: {} },
        { update_id: nextUpdateId(), message: "x" },
        { update_id: nextUpdateId(), callback_query: { id: "cq", data: "approve:x" } },
      ];
      for (const body of bodies) {
        const res = await post(body);
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.match(
          ((await res.json()) as { ignored: string }).ignored,
          new RegExp(`^update ${body.update_id} was acknowledged and ignored: `),
        );
      }
      assert.equal(errors.length, bodies.length, "each one is logged");
      assert.match(errors[0]!, /message\.from/);
      assert.equal((await userMessages(app, tenantId)).length, 0);
      assert.equal(model.calls, 0);

      // Polling passes them too: the poller moves on to the next update instead of stopping at one.
      const ac = new AbortController();
      const loop = ch.poll(ac.signal);
      t.after(async () => {
        ac.abort();
        await loop;
      });
      tg.push({ update_id: 7000, message: {} });
      tg.push(textUpdate(ALICE, "after the bad one", 7001));
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "ok: after the bad one"));
    });

    test("a sticker gets a short answer and no turn (photos and voice notes: telegram-media.test.ts)", async (t) => {
      const { model, tg, post, pair } = await setup(t);
      await pair(ALICE);
      const sticker = {
        file_id: "f",
        file_unique_id: "u",
        type: "regular",
        width: 1,
        height: 1,
        is_animated: false,
        is_video: false,
      };
      assert.equal(
        (
          await post({
            update_id: nextUpdateId(),
            message: { message_id: 9, date: 0, chat: { id: ALICE.id, type: "private" }, from: ALICE, sticker },
          })
        ).status,
        200,
      );
      assert.match(sentTo(tg, ALICE.id).at(-1)!.params.text, /not this kind of message/);
      assert.equal(model.calls, 0);
    });
  });
}
