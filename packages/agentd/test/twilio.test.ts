import assert from "node:assert/strict";
import { describe, test } from "node:test";
import twilio from "twilio";
import { approvals } from "../src/agent/approvals.ts";
import { policies } from "../src/agent/policy.ts";
import { splitText } from "../src/channels/twilio/index.ts";
import { sessions } from "../src/sessions/store.ts";
import { waitFor } from "./support/api.ts";
import { BACKENDS } from "./support/backends.ts";
import { PUBLIC_URL, SMS_FROM, setup, WA_FROM } from "./support/twilio-rig.ts";

describe("splitText", () => {
  test("splits at safe boundaries and never over the limit", () => {
    const para = "word ".repeat(300).trim();
    const parts = splitText(`${para}\n\n${para}\n\n${para}`, 1600);
    assert.ok(parts.every((p) => p.length <= 1600));
    assert.equal(parts.join(" ").replace(/\s+/g, " "), `${para} ${para} ${para}`.replace(/\s+/g, " "));
    assert.ok(parts.every((p) => !p.startsWith(" ") && !p.endsWith(" ")));
    const emoji = "😀".repeat(1000);
    const e = splitText(emoji, 1601);
    assert.ok(e.every((p) => p.length <= 1601 && !/[\ud800-\udbff]$/.test(p)));
    assert.equal(e.join(""), emoji);
  });
});

for (const b of BACKENDS) {
  describe(`twilio channel (${b.name})`, () => {
    test("a forged signature is refused with 403 and nothing is stored; a signed but incomplete request gets 400 with the reason; a real one is accepted", async (t) => {
      const { app, tw, ch, inbound, turns, pair, tenantId } = await setup(t, b);
      await pair("+15550001111");
      const before = tw.messages.length;
      const forged = await inbound("+15550001111", "hi", { signature: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" });
      assert.equal(forged.status, 403);
      const otherToken = await inbound("+15550001111", "hi", { signWith: "not-the-token" });
      assert.equal(otherToken.status, 403);
      const otherAccount = await inbound("+15550001111", "hi", {
        extra: { AccountSid: "AC00000000000000000000000000000000" },
      });
      assert.equal(otherAccount.status, 403, "signed right, but for another account");
      assert.equal(await turns(), 0);
      assert.equal(tw.messages.length, before);
      assert.equal(await sessions.latest(app.tenants.scope(tenantId)), null, "no session, no message");

      // Signed right but missing what a message must carry: 400 with the reason.
      const partial = async (params: Record<string, string>) => {
        const res = await ch.webhook.request(PUBLIC_URL, {
          method: "POST",
          body: new URLSearchParams(params).toString(),
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": twilio.getExpectedTwilioSignature(tw.authToken, PUBLIC_URL, params),
          },
        });
        return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
      };
      const noSid = await partial({ AccountSid: tw.accountSid, From: "+15550001111", Body: "hi" });
      assert.deepEqual([noSid.status, noSid.body.error.message], [400, "MessageSid is required"]);
      const noFrom = await partial({ AccountSid: tw.accountSid, MessageSid: "SM1", Body: "hi" });
      assert.deepEqual([noFrom.status, noFrom.body.error.message], [400, "From is required"]);
      assert.equal(await turns(), 0);

      const ok = await inbound("+15550001111", "hello");
      assert.equal(ok.status, 200);
      assert.match(ok.text, /<Response\/>/);
      const scope = app.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      assert.ok(s);
      assert.deepEqual(
        (await sessions.history(scope, s.id)).filter((m) => m.role === "user").map((m) => m.content),
        ["hello"],
        "persisted before the 200",
      );
    });

    test("an unpaired number gets instructions through the Messages API, never a turn; pairing by pair CODE and /start CODE", async (t) => {
      const { app, tw, inbound, turns, tenantId } = await setup(t, b);
      const r = await inbound("+15550002222", "hello?");
      assert.equal(r.status, 200);
      assert.equal(await turns(), 0);
      assert.equal(tw.messages.length, 1);
      assert.deepEqual([tw.messages[0]!.to, tw.messages[0]!.from], ["+15550002222", SMS_FROM]);
      assert.match(tw.messages[0]!.body, /pairing code/);
      assert.equal(tw.calls[0]!.path, `/2010-04-01/Accounts/${tw.accountSid}/Messages.json`);

      const bad = await inbound("+15550002222", "pair ZZZZZZZZ");
      assert.equal(bad.status, 200);
      assert.match(tw.messages.at(-1)!.body, /unknown, used or expired/);

      const { code } = await app.tenants.createPairingCode(tenantId);
      await inbound("+15550002222", `pair ${code}`);
      assert.match(tw.messages.at(-1)!.body, /Paired/);
      assert.equal(await app.tenants.tenantOf("sms", "+15550002222"), tenantId);

      const { code: code2 } = await app.tenants.createPairingCode(tenantId);
      await inbound("whatsapp:+15550003333", `/start ${code2}`);
      assert.equal(await app.tenants.tenantOf("whatsapp", "whatsapp:+15550003333"), tenantId);
      assert.deepEqual([tw.messages.at(-1)!.to, tw.messages.at(-1)!.from], ["whatsapp:+15550003333", WA_FROM]);
      assert.equal(await turns(), 0);
    });

    test("a paired number's message gets the model's reply; a duplicate MessageSid starts no second turn", async (t) => {
      const { app, tw, model, inbound, pair, turns } = await setup(t, b);
      await pair("+15550004444");
      const sent = tw.messages.length;
      model.script({ text: "Hello from the agent." });
      const first = await inbound("+15550004444", "hi there");
      assert.equal(first.status, 200);
      const runs = await app.kernel.listRuns({});
      assert.equal(runs.length, 1);
      await app.kernel.result(runs[0]!.id);
      await waitFor(async () => tw.messages.length > sent, "the reply");
      assert.deepEqual(
        tw.messages.slice(sent).map((m) => [m.to, m.from, m.body]),
        [["+15550004444", SMS_FROM, "Hello from the agent."]],
      );

      const again = await inbound("+15550004444", "hi there", { sid: first.sid });
      assert.equal(again.status, 200);
      assert.equal(await turns(), 1);
      assert.equal(model.calls, 1);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(tw.messages.length, sent + 1, "no second reply");
    });

    test("a long reply is split under the channel limit; a 429 and a 500 from the Messages API are retried", async (t) => {
      const { app, tw, model, inbound, pair } = await setup(t, b);
      await pair("+15550005555");
      await pair("whatsapp:+15550006666");
      const sent = tw.messages.length;
      const long = Array.from(
        { length: 60 },
        (_, i) => `Sentence number ${i} of a long answer that goes on and on for a while.`,
      ).join(" ");
      assert.ok(long.length > 4096);
      model.script({ text: long }, { text: long });
      tw.failNext(429, 500);
      await inbound("+15550005555", "tell me a lot");
      const [run] = await app.kernel.listRuns({});
      await app.kernel.result(run!.id);
      const sms = await waitFor(async () => {
        const m = tw.messages.slice(sent).filter((x) => x.to === "+15550005555");
        return m.map((x) => x.body).join(" ").length >= long.length && m;
      }, "all SMS parts");
      assert.ok(sms.length >= 3 && sms.every((m) => m.body.length <= 1600), `${sms.length} parts`);
      assert.equal(sms.map((m) => m.body).join(" "), long);
      assert.ok(tw.calls.some((c) => c.status === 429) && tw.calls.some((c) => c.status === 500));

      await inbound("whatsapp:+15550006666", "and on WhatsApp");
      const wa = await waitFor(async () => {
        const m = tw.messages.filter((x) => x.to === "whatsapp:+15550006666" && x.body.startsWith("Sentence"));
        return m.map((x) => x.body).join(" ").length >= long.length && m;
      }, "all WhatsApp parts");
      assert.deepEqual(
        wa.map((m) => m.body),
        splitText(long, 1600),
        "Twilio's 1,600-character Body limit holds on WhatsApp too",
      );
      assert.ok(wa.every((m) => m.from === WA_FROM));
      assert.equal(wa.map((m) => m.body).join(" "), long);
    });

    test("an approval goes out as a YES/NO code; YES CODE completes the turn, NO CODE denies", async (t) => {
      const { app, tw, model, inbound, pair, tenantId } = await setup(t, b);
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      await pair("+15550007777");

      model.script(
        { toolCalls: [{ name: "remember", arguments: { content: "birthday is May 3" } }] },
        { text: "Saved." },
      );
      await inbound("+15550007777", "remember my birthday");
      const ask = await waitFor(
        async () => tw.messages.find((m) => m.body.startsWith("Approve remember")),
        "the approval request",
      );
      const code = /Reply YES (\w+) or NO \1$/.exec(ask.body)?.[1];
      assert.ok(code, ask.body);
      assert.match(ask.body, /^Approve remember: \{"content":"birthday is May 3"\}\? Reply YES/);
      assert.equal(await app.memory.count(scope), 0);
      const pending = (await approvals.list(scope))[0]!;
      const yes = await inbound("+15550007777", `yes ${code.toLowerCase()}`);
      assert.equal(yes.status, 200);
      assert.equal((await app.kernel.result<{ text: string }>(pending.runId)).text, "Saved.");
      assert.equal(await app.memory.count(scope), 1);
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved");
      await waitFor(async () => tw.messages.some((m) => m.body === "Saved."), "the final reply");
      const runsAfterYes = (await app.kernel.listRuns({})).length;
      // Twilio redelivering the YES starts nothing.
      await inbound("+15550007777", `YES ${code}`, { sid: yes.sid });
      await inbound("+15550007777", `YES ${code}`);
      assert.equal((await app.kernel.listRuns({})).length, runsAfterYes);

      model.script({ toolCalls: [{ name: "remember", arguments: { content: "pin is 1234" } }] });
      await inbound("+15550007777", "remember my pin");
      const ask2 = await waitFor(
        async () => tw.messages.find((m) => m.body.startsWith("Approve remember") && m.body.includes("pin")),
        "the second approval",
      );
      const code2 = /Reply YES (\w+)/.exec(ask2.body)![1]!;
      const pending2 = await waitFor(async () => approvals.byCode(scope, code2), "pending approval");
      // Another tenant's number cannot decide it.
      const other = await app.tenants.create("other", {});
      const { code: pc } = await app.tenants.createPairingCode(other.id);
      await inbound("+15550008888", `pair ${pc}`);
      await inbound("+15550008888", `YES ${code2}`);
      const foreign = (await app.kernel.listRuns({})).find((r) => r.namespace === other.id);
      assert.ok(foreign, "to the other tenant it is just a message to its own agent");
      await app.kernel.result(foreign.id);
      assert.equal((await approvals.get(scope, pending2.id))?.status, "pending");
      // A number of the same tenant that was not asked cannot decide it either.
      await pair("+15550009990");
      const before = tw.messages.length;
      await inbound("+15550009990", `YES ${code2}`);
      await waitFor(async () => tw.messages.length > before, "the refusal");
      assert.match(tw.messages.at(-1)!.body, /asked in another conversation/);
      assert.equal((await approvals.get(scope, pending2.id))?.status, "pending");
      model.script({ text: "Not saved." });
      await inbound("+15550007777", `NO ${code2}`);
      assert.equal((await app.kernel.result<{ text: string }>(pending2.runId)).text, "Not saved.");
      assert.equal((await approvals.get(scope, pending2.id))?.status, "denied");
      assert.equal(await app.memory.count(scope), 1);
    });
  });
}
