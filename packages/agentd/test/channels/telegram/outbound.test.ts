import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UNAVAILABLE_REPLY } from "../../../src/agent/unavailable.ts";
import { BACKENDS } from "../../support/backends.ts";
import { sentTo, pairingTelegramRig, userMessages } from "../../support/telegram-rig.ts";
import { until } from "../../support/wait.ts";
import { textUpdate } from "../../support/telegram-updates.ts";

const ALICE = { id: 501, is_bot: false, first_name: "Alice", username: "alice" };

for (const b of BACKENDS) {
  describe(`telegram channel (${b.name})`, () => {
    const setup = (t: { after(fn: () => unknown): void }, opts?: Parameters<typeof pairingTelegramRig>[2]) =>
      pairingTelegramRig(t, b, opts);

    test("a model that cannot answer: the person gets one plain sentence, and the reply once a retry succeeds", async (t) => {
      const { app, model, tg, post, pair, tenantId } = await setup(t, {
        config: { modelRetry: { maxAttempts: 3, initialInterval: "10ms", backoffFactor: 1 } },
      });
      await pair(ALICE);
      model.fallback = () => ({ status: 503 });
      assert.equal((await post(textUpdate(ALICE, "are you there?"))).status, 200);
      const [run] = await until(async () => {
        const failed = await app.kernel.failedRuns();
        return failed.length ? failed : null;
      }, "the failed turn");
      assert.deepEqual(
        sentTo(tg, ALICE.id)
          .slice(1)
          .map((c) => c.params.text),
        [UNAVAILABLE_REPLY],
        "one sentence, nothing internal",
      );
      model.fallback = (req) => ({ text: `ok: ${req.body.messages.at(-1).content}` });
      await app.kernel.retry(run!.id);
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "ok: are you there?"), "the answer");
      assert.equal((await userMessages(app, tenantId)).length, 1);
      assert.equal(sentTo(tg, ALICE.id).filter((c) => c.params.text === UNAVAILABLE_REPLY).length, 1);
    });

    test("a long reply is split into several messages, each within 4096 characters", async (t) => {
      const { model, tg, post, pair } = await setup(t);
      await pair(ALICE);
      const paragraph = (i: number) => `Paragraph ${i}. ${"word ".repeat(300).trim()}`;
      const long = `${Array.from({ length: 12 }, (_, i) => paragraph(i)).join("\n\n")}\n\n${"x".repeat(5000)}`;
      model.script({ text: long });
      const before = sentTo(tg, ALICE.id).length;
      await post(textUpdate(ALICE, "write a lot"));
      // The x's span two parts: wait for the whole reply, not the first part that ends in x.
      const parts = await until(() => {
        const p = sentTo(tg, ALICE.id).slice(before);
        return p
          .map((c) => c.params.text)
          .join("")
          .replace(/\s+/g, "").length >= long.replace(/\s+/g, "").length
          ? p
          : undefined;
      });
      assert.ok(parts.length >= 6, `${parts.length} parts`);
      for (const p of parts) assert.ok(p.params.text.length <= 4096, `part of ${p.params.text.length}`);
      assert.equal(
        parts
          .map((p) => p.params.text)
          .join("")
          .replace(/\s+/g, ""),
        long.replace(/\s+/g, ""),
      );
      assert.ok(
        parts.every((p) => /(word|x)$/.test(p.params.text)),
        "parts end at a word, not mid-word",
      );
    });

    test("a 429 with retry_after is honoured: the message is sent again after the wait", async (t) => {
      const { model, tg, post, pair } = await setup(t);
      await pair(ALICE);
      tg.rateLimitNext("sendMessage", 1);
      model.script({ text: "after the flood" });
      await post(textUpdate(ALICE, "go"));
      await until(() => tg.messages.size > 1 && [...tg.messages.values()].find((m) => m.text === "after the flood"));
      const tries = sentTo(tg, ALICE.id).filter((c) => c.params.text === "after the flood");
      assert.equal(tries.length, 2);
      assert.ok(tries[1]!.at - tries[0]!.at >= 950, `retried after ${tries[1]!.at - tries[0]!.at} ms`);
    });
  });
}
