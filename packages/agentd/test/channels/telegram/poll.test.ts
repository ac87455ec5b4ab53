import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BACKENDS } from "../../support/backends.ts";
import { sentTo, pairingTelegramRig } from "../../support/telegram-rig.ts";
import { until } from "../../support/wait.ts";
import { textUpdate } from "../../support/telegram-updates.ts";

const ALICE = { id: 501, is_bot: false, first_name: "Alice", username: "alice" };

for (const b of BACKENDS) {
  describe(`telegram channel (${b.name})`, () => {
    const setup = (t: { after(fn: () => unknown): void }, opts?: Parameters<typeof pairingTelegramRig>[2]) =>
      pairingTelegramRig(t, b, opts);

    test("long polling: updates arrive through getUpdates and are confirmed only after handling", async (t) => {
      const { tg, ch, app, tenantId } = await setup(t);
      const { code } = await app.tenants.createPairingCode(tenantId);
      const ac = new AbortController();
      const loop = ch.poll(ac.signal);
      t.after(async () => {
        ac.abort();
        await loop;
      });
      tg.push(textUpdate(ALICE, `/start ${code}`, 5000));
      await until(() => sentTo(tg, ALICE.id).find((c) => /Paired/.test(c.params.text)));
      tg.push(textUpdate(ALICE, "polled hello", 5001));
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "ok: polled hello"));
      const offsets = tg.callsOf("getUpdates").map((c) => Number(c.params.offset ?? 0));
      assert.ok(offsets.includes(5001) && offsets.includes(5002), `offsets ${offsets}`);
      assert.ok(tg.callsOf("deleteWebhook").length >= 1);
    });
  });
}
