import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { outbox } from "../../../src/channels/outbox.ts";
import { opaqueOf, WHATSAPP_CLOUD, WHATSAPP_MAX_TEXT } from "../../../src/channels/whatsapp/index.ts";
import { splitText } from "../../../src/channels/split-text.ts";
import { sessions } from "../../../src/sessions/store.ts";
import { BACKENDS } from "../../support/backends.ts";
import { until } from "../../support/wait.ts";
import { whatsappRig } from "../../support/whatsapp-rig.ts";
import { signBody, statusPayload, webhookBody } from "../../support/whatsapp-server.ts";

const ALICE = "15557770001";

for (const b of BACKENDS) {
  describe(`whatsapp cloud api (${b.name})`, () => {
    test("a long reply is split under 4,096 characters; rate limits are waited out and the reply still arrives exactly once", async (t) => {
      const { app, wa, model, text, pair, to, tenantId } = await whatsappRig(t, b);
      await pair(ALICE);
      const long = Array.from(
        { length: 160 },
        (_, i) => `Sentence number ${i} of a long answer that goes on for a while.`,
      ).join(" ");
      assert.ok(long.length > 2 * WHATSAPP_MAX_TEXT);
      const before = to(ALICE).length;
      model.script({ text: long });
      wa.failNext(
        { status: 429, code: 130429, retryAfter: 1 },
        { status: 400, code: 131056, message: "(#131056) (Business Account, Consumer Account) pair rate limit hit" },
      );
      await text(ALICE, "tell me a lot");
      const [run] = await app.kernel.listRuns({});
      await app.kernel.result(run!.id);
      const parts = to(ALICE).slice(before);
      const expected = splitText(long, WHATSAPP_MAX_TEXT);
      assert.equal(parts.length, expected.length);
      assert.ok(parts.length >= 3 && parts.every((m) => m.text.length <= WHATSAPP_MAX_TEXT));
      assert.deepEqual(
        parts.map((m) => m.text),
        expected,
      );
      const refused = wa.calls.filter((c) => c.status !== 200 && c.path.endsWith("/messages"));
      assert.deepEqual(
        refused.map((c) => c.status),
        [429, 400],
      );
      // Each refusal was waited out: the retry-after second, then the pair limit's six seconds.
      const sends = wa.calls.filter((c) => c.path.endsWith("/messages") && !("status" in c.body));
      const i = sends.findIndex((c) => c.status === 429);
      assert.ok(
        sends[i + 1]!.at - sends[i]!.at >= 950,
        `${sends[i + 1]!.at - sends[i]!.at} ms after a 429 with retry-after 1`,
      );
      assert.ok(
        sends[i + 2]!.at - sends[i + 1]!.at >= 5_900,
        `${sends[i + 2]!.at - sends[i + 1]!.at} ms after the pair rate limit`,
      );
      const rows = await outbox.parts(app.tenants.scope(tenantId), `reply:${run!.id}`);
      assert.deepEqual(
        rows.map((r) => r.externalId),
        parts.map((m) => m.id),
        "each part recorded with Meta's id",
      );
    });

    test("outside the 24-hour window a reply is held, refused at once or reported failed later, and goes out when the person writes again", async (t) => {
      const { app, wa, model, text, pair, status, to, tenantId } = await whatsappRig(t, b);
      const scope = app.tenants.scope(tenantId);
      await pair(ALICE);
      const got = (s: string) => to(ALICE).filter((m) => m.text === s).length;

      // Refused on the send call: the turn completes, its reply held.
      wa.closedWindow.add(ALICE);
      model.script({ text: "Here is your late answer." });
      await text(ALICE, "answer me tomorrow");
      const [first] = await app.kernel.listRuns({});
      assert.equal((await app.kernel.result<{ text: string }>(first!.id)).text, "Here is your late answer.");
      const held = await outbox.get(scope, `reply:${first!.id}`, 0);
      assert.deepEqual([held?.status, held?.detail, held?.externalId], ["held", "131047", null]);
      assert.equal(got("Here is your late answer."), 0);

      // Accepted, then reported failed (how Meta usually says it): held as well.
      wa.closedWindow.delete(ALICE);
      const session = (await sessions.find(scope, WHATSAPP_CLOUD, ALICE))!;
      await app.channels.deliver({ tenantId, session, kind: "reply", text: "A reminder.", key: "reply:reminder-run" });
      await sessions.append(
        scope,
        { sessionId: session.id, role: "assistant", content: "A reminder.", sourceKey: "reply:reminder-run" },
        Date.now(),
      );
      const accepted = to(ALICE).find((m) => m.text === "A reminder.")!;
      assert.equal((await status(accepted.id, "failed", { to: ALICE, errorCode: 131047 })).status, 200);
      assert.equal((await outbox.get(scope, "reply:reminder-run", 0))?.status, "held");

      // The person writes: both held replies go out, oldest first, once; the model is not asked again for them.
      model.script({ text: "And a new answer." });
      await text(ALICE, "hello again");
      await until(() => got("A reminder.") === 2 && got("Here is your late answer.") === 1, "the held replies");
      const order = to(ALICE)
        .map((m) => m.text)
        .filter((x) => x === "Here is your late answer." || x === "A reminder.");
      assert.deepEqual(
        order,
        ["A reminder.", "Here is your late answer.", "A reminder."],
        "the late answer (held first) before the reminder's second try",
      );
      const second = (await app.kernel.listRuns({})).find((r) => r.id !== first!.id)!;
      await app.kernel.result(second.id);
      await until(() => got("And a new answer.") === 1, "the new reply");
      assert.equal(model.calls, 2);
      assert.equal((await outbox.get(scope, `reply:${first!.id}`, 0))?.status, "sent");
      await text(ALICE, "and once more");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(got("Here is your late answer."), 1, "sent once: nothing is held any more");
    });

    test("status reports move a part forward only (sent, delivered, read; failed keeps its code); a report for a part whose answer was lost claims it", async (t) => {
      const { app, wa, model, text, post, pair, status, to, tenantId } = await whatsappRig(t, b);
      await pair(ALICE);
      model.script({ text: "Tracked reply." });
      await text(ALICE, "track this");
      const [run] = await app.kernel.listRuns({});
      await app.kernel.result(run!.id);
      const scope = app.tenants.scope(tenantId);
      const key = `reply:${run!.id}`;
      const sent = to(ALICE).find((m) => m.text === "Tracked reply.")!;
      assert.equal(sent.opaque, opaqueOf(tenantId, key, 0), "the part's outbox address travels with the message");
      for (const st of ["delivered", "sent", "read", "delivered"])
        assert.equal((await status(sent.id, st, { to: ALICE })).status, 200);
      assert.equal((await outbox.get(scope, key, 0))?.status, "read", "never backwards");

      // A delivery whose call Meta accepted but whose answer never came: the row stays `sending`…
      wa.dropNextAnswer();
      const lostKey = "notice:lost-answer";
      const session = (await sessions.latest(scope))!;
      await assert.rejects(
        app.channels.deliver({ tenantId, session, kind: "notice", text: "Reminder: stretch.", key: lostKey }),
      );
      assert.equal((await outbox.get(scope, lostKey, 0))?.status, "sending");
      const lost = to(ALICE).at(-1)!;
      // …until Meta's report names it.
      assert.equal((await status(lost.id, "sent", { to: ALICE, opaque: lost.opaque! })).status, 200);
      const row = await outbox.get(scope, lostKey, 0);
      assert.deepEqual([row?.status, row?.externalId], ["sent", lost.id]);
      await app.channels.deliver({ tenantId, session, kind: "notice", text: "Reminder: stretch.", key: lostKey });
      assert.equal(to(ALICE).filter((m) => m.text === "Reminder: stretch.").length, 1, "claimed, so not sent again");

      const failed = await status(sent.id, "failed", { to: ALICE, errorCode: 131047 });
      assert.equal(failed.status, 200);
      assert.equal((await outbox.get(scope, key, 0))?.status, "read", "a late failure does not undo a read");
      model.script({ text: "Never delivered." });
      await text(ALICE, "one more");
      const run2 = (await app.kernel.listRuns({})).find((r) => r.id !== run!.id)!;
      await app.kernel.result(run2.id);
      const never = to(ALICE).find((m) => m.text === "Never delivered.")!;
      assert.equal((await status(never.id, "failed", { to: ALICE, errorCode: 131026 })).status, 200);
      const failedRow = await outbox.get(scope, `reply:${run2.id}`, 0);
      assert.deepEqual([failedRow?.status, failedRow?.detail], ["failed", "131026 Re-engagement message"]);

      // A report signed with another secret is refused and changes nothing.
      const forged = statusPayload(wa.phoneNumberId, { id: never.id, status: "read", to: ALICE });
      assert.equal((await post(forged, signBody("not-the-secret", webhookBody(forged)))).status, 401);
      assert.equal((await outbox.get(scope, `reply:${run2.id}`, 0))?.status, "failed");
    });

    test("a part whose answer was lost waits for Meta's report before it is sent again; with no report it is sent again after the grace", async (t) => {
      const { app, wa, pair, status, to, tenantId } = await whatsappRig(t, b, { channel: { confirmGraceMs: 1500 } });
      await pair(ALICE);
      const scope = app.tenants.scope(tenantId);
      const session =
        (await sessions.find(scope, WHATSAPP_CLOUD, ALICE)) ??
        (await sessions.open(scope, WHATSAPP_CLOUD, ALICE, Date.now()));
      const deliver = (text: string, key: string) =>
        app.channels.deliver({ tenantId, session, kind: "notice", text, key });
      const count = (text: string) => to(ALICE).filter((m) => m.text === text).length;

      wa.dropNextAnswer();
      await assert.rejects(deliver("Only once.", "notice:a"));
      assert.equal(count("Only once."), 1, "Meta has it; agentd never heard");
      let t0 = Date.now();
      const replay = deliver("Only once.", "notice:a");
      await new Promise((r) => setTimeout(r, 300));
      const lost = to(ALICE).at(-1)!;
      assert.equal((await status(lost.id, "sent", { to: ALICE, opaque: lost.opaque! })).status, 200);
      await replay;
      assert.ok(Date.now() - t0 < 1500, "done when the report came, not at the end of the grace");
      assert.equal(count("Only once."), 1);
      assert.equal((await outbox.get(scope, "notice:a", 0))?.externalId, lost.id);

      wa.dropNextAnswer();
      await assert.rejects(deliver("No report.", "notice:b"));
      t0 = Date.now();
      await deliver("No report.", "notice:b");
      assert.ok(Date.now() - t0 >= 1400, `sent again after ${Date.now() - t0} ms`);
      assert.equal(count("No report."), 2, "with no word from Meta, a lost answer means sending again (at least once)");
    });
  });
}
