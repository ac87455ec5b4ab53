import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { policies } from "../../../src/agent/policy.ts";
import { approvals } from "../../../src/agent/approvals.ts";
import { BACKENDS } from "../../support/backends.ts";
import { sentTo, pairingTelegramRig } from "../../support/telegram-rig.ts";
import { until } from "../../support/wait.ts";
import { pressUpdate, textUpdate } from "../../support/telegram-updates.ts";

const ALICE = { id: 501, is_bot: false, first_name: "Alice", username: "alice" };
const MALLORY = { id: 666, is_bot: false, first_name: "Mallory", username: "mallory" };

for (const b of BACKENDS) {
  describe(`telegram channel (${b.name})`, () => {
    const setup = (t: { after(fn: () => unknown): void }, opts?: Parameters<typeof pairingTelegramRig>[2]) =>
      pairingTelegramRig(t, b, opts);

    test("an approval keyboard press approves and the turn completes; a press by another tenant's user, or from another chat of the tenant, is refused", async (t) => {
      const { app, model, tg, post, pair, tenantId } = await setup(t);
      await pair(ALICE);
      const other = await app.tenants.create("other", {});
      await pair(MALLORY, other.id);
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      model.script(
        { toolCalls: [{ name: "remember", arguments: { content: "birthday is May 3" } }] },
        { text: "Saved." },
      );
      await post(textUpdate(ALICE, "remember my birthday"));
      const ask = await until(() => sentTo(tg, ALICE.id).find((c) => c.params.reply_markup));
      const buttons = ask.params.reply_markup.inline_keyboard.flat() as { text: string; callback_data: string }[];
      assert.deepEqual(
        buttons.map((k) => k.text),
        ["Approve once", "Always", "Deny"],
      );
      const pending = (await approvals.list(scope))[0]!;
      assert.deepEqual(
        buttons.map((k) => k.callback_data),
        ["once", "always", "deny"].map((c) => `apr:${pending.id}:${c}`),
      );

      // Mallory presses Alice's button (a forwarded or forged callback): refused, nothing decided.
      assert.equal((await post(pressUpdate(MALLORY, buttons[0]!.callback_data))).status, 200);
      assert.match(tg.callsOf("answerCallbackQuery").at(-1)!.params.text, /not yours/);
      assert.equal((await approvals.get(scope, pending.id))?.status, "pending");
      // A colleague of the same tenant, pressing a forwarded copy in his own chat: not his conversation.
      const BOB = { ...MALLORY, id: 777, first_name: "Bob", username: "bob" };
      await pair(BOB);
      await post(pressUpdate(BOB, buttons[0]!.callback_data));
      assert.match(tg.callsOf("answerCallbackQuery").at(-1)!.params.text, /not yours/);
      assert.equal((await approvals.get(scope, pending.id))?.status, "pending");
      // An unknown presser likewise.
      await post(pressUpdate({ ...MALLORY, id: 999 }, buttons[0]!.callback_data));
      assert.match(tg.callsOf("answerCallbackQuery").at(-1)!.params.text, /not yours/);
      assert.equal(await app.memory.count(scope), 0);

      const askMsg = [...tg.messages.values()].find((m) => m.reply_markup)!;
      const where = { message_id: askMsg.message_id, text: askMsg.text, chatId: ALICE.id };
      assert.equal((await post(pressUpdate(ALICE, buttons[0]!.callback_data, where))).status, 200);
      assert.match(tg.callsOf("answerCallbackQuery").at(-1)!.params.text, /Approved once/);
      assert.match(
        tg.messages.get(askMsg.message_id)!.text,
        /Approved once/,
        "the approval message says what was decided",
      );
      assert.equal(tg.messages.get(askMsg.message_id)!.reply_markup, undefined, "and its buttons are gone");
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "Saved."));
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved");
      assert.equal(await app.memory.count(scope), 1);

      // A stale press (already decided) is refused with an answer and changes nothing.
      await post(pressUpdate(ALICE, buttons[2]!.callback_data));
      assert.match(tg.callsOf("answerCallbackQuery").at(-1)!.params.text, /Already approved/);
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved");
    });
  });
}
