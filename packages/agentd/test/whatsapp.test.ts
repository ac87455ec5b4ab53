import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { approvals } from "../src/agent/approvals.ts";
import { policies } from "../src/agent/policy.ts";
import { outbox } from "../src/channels/outbox.ts";
import { opaqueOf, toWhatsAppText, WHATSAPP_CLOUD, WHATSAPP_MAX_TEXT } from "../src/channels/whatsapp/index.ts";
import { splitText } from "../src/channels/split-text.ts";
import { sessions } from "../src/sessions/store.ts";
import { BACKENDS } from "./support/backends.ts";
import { until } from "./support/wait.ts";
import { VERIFY_TOKEN, whatsappRig } from "./support/whatsapp-rig.ts";
import { batchPayload, messagePayload, signBody, statusPayload, webhookBody } from "./support/whatsapp-server.ts";

const ALICE = "15557770001";
const BOB = "15557770002";
const imageUrls = (m: any): string[] => (Array.isArray(m.content) ? m.content.filter((p: any) => p.type === "image_url").map((p: any) => p.image_url.url) : []);

describe("whatsapp formatting", () => {
  test("markdown becomes WhatsApp's own markup; code is left as written", () => {
    assert.equal(toWhatsAppText("The **answer** is *42*; `a*b*c` stays"), "The *answer* is _42_; `a*b*c` stays");
    assert.equal(toWhatsAppText("# Plan\n* one\n* two ~~old~~"), "*Plan*\n- one\n- two ~old~");
    assert.equal(toWhatsAppText("[docs](https://x.test/a_b) and https://y.test"), "docs (https://x.test/a_b) and https://y.test");
    assert.equal(toWhatsAppText("```ts\nconst a = **b**;\n```"), "```\nconst a = **b**;\n```");
    assert.equal(toWhatsAppText("2*3*4 = 24, a * b"), "2*3*4 = 24, a * b");
  });
});

for (const b of BACKENDS) {
  describe(`whatsapp cloud api (${b.name})`, () => {
    test("Meta's verification handshake: the challenge is echoed for the right verify token only", async (t) => {
      const { ch } = await whatsappRig(t, b);
      const ok = await ch.webhook.request(`/?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), "1158201444");
      const wrong = await ch.webhook.request("/?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1");
      assert.equal(wrong.status, 403);
      assert.equal((await ch.webhook.request(`/?hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`)).status, 403);
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
      const altered = await post(webhookBody(payload).replace('"hi"', '"rm -rf"'), signBody(wa.appSecret, webhookBody(payload)));
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
      const noId = await post({ object: "whatsapp_business_account", entry: [{ id: "1", changes: [{ field: "messages", value: { metadata: { phone_number_id: wa.phoneNumberId }, messages: [{ from: ALICE, type: "text" }] } }] }] });
      assert.equal(noId.status, 400);
      assert.match(noId.body, /messages\.0: id/);
      assert.equal((await app.kernel.listRuns({})).length, 0);

      // An unknown field is fine, and so is a change of another kind (account updates).
      const extra = messagePayload(wa.phoneNumberId, ALICE, { type: "text", text: { body: "hello" }, brand_new_field: { x: 1 } });
      (extra.entry[0]!.changes as unknown[]).push({ field: "account_update", value: { event: "VERIFIED_ACCOUNT" } });
      assert.equal((await post(extra)).status, 200);
      const s = await sessions.latest(scope);
      assert.deepEqual((await sessions.history(scope, s!.id)).filter((m) => m.role === "user").map((m) => m.content), ["hello"], "persisted before the 200");

      // A bad item among good ones is skipped and logged: Meta would redeliver the same body forever.
      const mixed = batchPayload(wa.phoneNumberId, ALICE, [{ type: "text" }, { type: "text", text: { body: "the good one" } }]);
      (mixed.entry[0]!.changes[0]!.value as unknown as { messages: { id?: string }[] }).messages[0]!.id = undefined;
      assert.equal((await post(mixed)).status, 200);
      assert.deepEqual((await sessions.history(scope, s!.id)).filter((m) => m.role === "user").map((m) => m.content), ["hello", "the good one"]);
      assert.ok(logs.some((l) => /skipped.*messages\.0: id/.test(l)), logs.join("\n"));
    });

    test("an unknown number gets pairing instructions and never a turn, once even when the request is replayed after a restart; /start CODE pairs it", async (t) => {
      const { app, wa, text, post, to, tenantId, restarted } = await whatsappRig(t, b);
      const hello = await text(BOB, "hello?");
      assert.equal(hello.status, 200);
      assert.equal((await app.kernel.listRuns({})).length, 0);
      assert.match(to(BOB).at(-1)!.text, /pairing code/);
      assert.equal((await post(hello.payload, undefined, restarted().webhook)).status, 200, "a captured request replayed later");
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
      const reply = await until(() => to(ALICE).slice(before).find((m) => m.type === "text"), "the reply");
      assert.equal(reply.text, "Hello *Alice*, from the agent.");
      assert.ok(wa.reads.some((r) => r.messageId === first.id && r.typing), "typing shown on the person's message");

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
      assert.deepEqual((await sessions.history(scope, s!.id)).filter((m) => m.role === "user").map((m) => m.content), ["naïve café 😀"]);
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
      const r = await post(batchPayload(wa.phoneNumberId, ALICE, [{ type: "text", text: { body: "first" } }, { type: "text", text: { body: "second" } }]));
      assert.equal(r.status, 200);
      const scope = app.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      assert.deepEqual((await sessions.history(scope, s!.id)).filter((m) => m.role === "user").map((m) => m.content), ["first", "second"]);
      const runs = await app.kernel.listRuns({});
      assert.equal(runs.length, 2);
      for (const run of runs) await app.kernel.result(run.id);
    });

    test("a long reply is split under 4,096 characters; rate limits are waited out and the reply still arrives exactly once", async (t) => {
      const { app, wa, model, text, pair, to, tenantId } = await whatsappRig(t, b);
      await pair(ALICE);
      const long = Array.from({ length: 160 }, (_, i) => `Sentence number ${i} of a long answer that goes on for a while.`).join(" ");
      assert.ok(long.length > 2 * WHATSAPP_MAX_TEXT);
      const before = to(ALICE).length;
      model.script({ text: long });
      wa.failNext({ status: 429, code: 130429, retryAfter: 1 }, { status: 400, code: 131056, message: "(#131056) (Business Account, Consumer Account) pair rate limit hit" });
      await text(ALICE, "tell me a lot");
      const [run] = await app.kernel.listRuns({});
      await app.kernel.result(run!.id);
      const parts = to(ALICE).slice(before);
      const expected = splitText(long, WHATSAPP_MAX_TEXT);
      assert.equal(parts.length, expected.length);
      assert.ok(parts.length >= 3 && parts.every((m) => m.text.length <= WHATSAPP_MAX_TEXT));
      assert.deepEqual(parts.map((m) => m.text), expected);
      const refused = wa.calls.filter((c) => c.status !== 200 && c.path.endsWith("/messages"));
      assert.deepEqual(refused.map((c) => c.status), [429, 400]);
      // Each refusal was waited out: the retry-after second, then the pair limit's six seconds.
      const sends = wa.calls.filter((c) => c.path.endsWith("/messages") && !("status" in c.body));
      const i = sends.findIndex((c) => c.status === 429);
      assert.ok(sends[i + 1]!.at - sends[i]!.at >= 950, `${sends[i + 1]!.at - sends[i]!.at} ms after a 429 with retry-after 1`);
      assert.ok(sends[i + 2]!.at - sends[i + 1]!.at >= 5_900, `${sends[i + 2]!.at - sends[i + 1]!.at} ms after the pair rate limit`);
      const rows = await outbox.parts(app.tenants.scope(tenantId), `reply:${run!.id}`);
      assert.deepEqual(rows.map((r) => r.externalId), parts.map((m) => m.id), "each part recorded with Meta's id");
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
      await sessions.append(scope, { sessionId: session.id, role: "assistant", content: "A reminder.", sourceKey: "reply:reminder-run" }, Date.now());
      const accepted = to(ALICE).find((m) => m.text === "A reminder.")!;
      assert.equal((await status(accepted.id, "failed", { to: ALICE, errorCode: 131047 })).status, 200);
      assert.equal((await outbox.get(scope, "reply:reminder-run", 0))?.status, "held");

      // The person writes: both held replies go out, oldest first, once; the model is not asked again for them.
      model.script({ text: "And a new answer." });
      await text(ALICE, "hello again");
      await until(() => got("A reminder.") === 2 && got("Here is your late answer.") === 1, "the held replies");
      const order = to(ALICE).map((m) => m.text).filter((x) => x === "Here is your late answer." || x === "A reminder.");
      assert.deepEqual(order, ["A reminder.", "Here is your late answer.", "A reminder."], "the late answer (held first) before the reminder's second try");
      const second = (await app.kernel.listRuns({})).find((r) => r.id !== first!.id)!;
      await app.kernel.result(second.id);
      await until(() => got("And a new answer.") === 1, "the new reply");
      assert.equal(model.calls, 2);
      assert.equal((await outbox.get(scope, `reply:${first!.id}`, 0))?.status, "sent");
      await text(ALICE, "and once more");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(got("Here is your late answer."), 1, "sent once: nothing is held any more");
    });

    test("an approval is three reply buttons bound to the call; a press decides it once, a stale or foreign press is refused, YES code works too", async (t) => {
      const { app, wa, model, text, post, pair, to, tenantId } = await whatsappRig(t, b);
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      await pair(ALICE);

      model.script({ toolCalls: [{ name: "remember", arguments: { content: "birthday is May 3" } }] }, { text: "Saved." });
      await text(ALICE, "remember my birthday");
      const ask = await until(() => to(ALICE).find((m) => m.type === "interactive"), "the approval request");
      const pending = (await approvals.list(scope))[0]!;
      assert.match(ask.text, /^Approve remember: \{"content":"birthday is May 3"\}\?/);
      assert.match(ask.text, new RegExp(`YES ${pending.code} / NO ${pending.code}`));
      assert.deepEqual(ask.buttons, [
        { id: `apr:${pending.id}:once`, title: "Approve once" },
        { id: `apr:${pending.id}:always`, title: "Always" },
        { id: `apr:${pending.id}:deny`, title: "Deny" },
      ]);
      const press = (from: string, id: string, title: string, o: { id?: string } = {}) =>
        post(messagePayload(wa.phoneNumberId, from, { type: "interactive", interactive: { type: "button_reply", button_reply: { id, title } }, context: { from: wa.phoneNumberId, id: ask.id } }, o));

      // Someone of another tenant presses a forwarded button: not theirs.
      const other = await app.tenants.create("other", {});
      const { code: pc } = await app.tenants.createPairingCode(other.id);
      await text(BOB, `/start ${pc}`);
      assert.equal((await press(BOB, `apr:${pending.id}:once`, "Approve once")).status, 200);
      assert.equal(to(BOB).at(-1)!.text, "This button is not yours.");
      assert.equal((await approvals.get(scope, pending.id))?.status, "pending");

      // A colleague of the same tenant, in his own chat: not the conversation the approval was asked in.
      const CAROL = "15557770003";
      await pair(CAROL);
      await press(CAROL, `apr:${pending.id}:once`, "Approve once");
      assert.equal(to(CAROL).at(-1)!.text, "This button is not yours.");
      await text(CAROL, `YES ${pending.code}`);
      assert.match(to(CAROL).at(-1)!.text, /asked in another conversation/);
      assert.equal((await approvals.get(scope, pending.id))?.status, "pending");

      const yes = await press(ALICE, `apr:${pending.id}:always`, "Always");
      assert.equal(yes.status, 200);
      assert.equal((await app.kernel.result<{ text: string }>(pending.runId)).text, "Saved.");
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved");
      assert.equal(await app.memory.count(scope), 1);
      assert.ok(to(ALICE).some((m) => m.text === "Approved, and always from now on."));
      const stale = await press(ALICE, `apr:${pending.id}:deny`, "Deny");
      assert.equal(stale.status, 200);
      assert.equal(to(ALICE).at(-1)!.text, "Already approved.");
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved", "the first decision stands");
      const always = await policies.list(scope);
      assert.ok(always.some((p) => p.tool === "remember" && p.decision === "allow"), "always: the tool is allowed from now on");

      // By code, for people who type instead of pressing.
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      model.script({ toolCalls: [{ name: "remember", arguments: { content: "pin is 1234" } }] }, { text: "Not saved." });
      await text(ALICE, "remember my pin");
      const second = await until(async () => (await approvals.list(scope)).find((a) => a.status === "pending"), "the second approval");
      await text(ALICE, `no ${second.code.toLowerCase()}`);
      assert.equal((await app.kernel.result<{ text: string }>(second.runId)).text, "Not saved.");
      assert.equal((await approvals.get(scope, second.id))?.status, "denied");
      assert.equal(await app.memory.count(scope), 1);
    });

    test("a photo with a caption is downloaded with the token from Meta's media URL into the blob store and reaches the model; a redelivery downloads nothing again", async (t) => {
      const { app, wa, model, post, pair, tenantId } = await whatsappRig(t, b);
      await pair(ALICE);
      const bytes = Buffer.alloc(3000, 7);
      const mediaId = wa.addMedia(bytes, "image/jpeg");
      model.script({ text: "A nice photo." });
      const payload = messagePayload(wa.phoneNumberId, ALICE, { type: "image", image: { id: mediaId, mime_type: "image/jpeg", sha256: createHash("sha256").update(bytes).digest("base64"), caption: "what is this?" } });
      assert.equal((await post(payload)).status, 200);
      const [run] = await app.kernel.listRuns({});
      await app.kernel.result(run!.id);
      const scope = app.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      const [m] = (await sessions.history(scope, s!.id)).filter((x) => x.role === "user");
      assert.equal(m!.content, "what is this?");
      assert.deepEqual(m!.attachments?.map((a) => [a.kind, a.mime, a.size]), [["image", "image/jpeg", 3000]]);
      const stored = await app.blobs.get(tenantId, m!.attachments![0]!.id);
      assert.deepEqual(stored?.data, new Uint8Array(bytes));
      const asked = model.requests.at(-1)!.body.messages.findLast((x: any) => x.role === "user");
      assert.deepEqual(imageUrls(asked), [`data:image/jpeg;base64,${bytes.toString("base64")}`]);
      assert.deepEqual(wa.mediaCalls.map((c) => c.authorization), [`Bearer ${wa.token}`]);

      assert.equal((await post(payload)).status, 200);
      assert.equal(wa.mediaCalls.length, 1, "no second download");
      assert.equal((await app.kernel.listRuns({})).length, 1, "no second turn");
    });

    test("media refusals: too large is answered without a turn; a file twice not matching its hash, or on a URL off Meta's hosts (never given the token), is noted and dropped; an unknown sender's file is not fetched", async (t) => {
      const { app, wa, post, pair, text, to, logs, tenantId } = await whatsappRig(t, b, { config: { maxMediaBytes: 1000 } });
      await pair(ALICE);
      const big = wa.addMedia(Buffer.alloc(2000, 1), "image/png");
      assert.equal((await post(messagePayload(wa.phoneNumberId, ALICE, { type: "image", image: { id: big, mime_type: "image/png" } }))).status, 200);
      assert.match(to(ALICE).at(-1)!.text, /too large/);
      assert.equal((await app.kernel.listRuns({})).length, 0);
      assert.equal(wa.mediaCalls.length, 0, "refused from the size Meta announced, before downloading");

      // A download that does not match its announced hash is tried again at once; twice wrong, the message goes on without it.
      const lied = wa.addMedia(Buffer.alloc(500, 2), "image/png", { sha256: "0".repeat(64) });
      assert.equal((await post(messagePayload(wa.phoneNumberId, ALICE, { type: "image", image: { id: lied, mime_type: "image/png", caption: "corrupt" } }))).status, 200);
      assert.equal(wa.mediaCalls.length, 2, "downloaded twice, then given up");
      const [corrupt] = await app.kernel.listRuns({});
      await app.kernel.result(corrupt!.id);

      const offsite = wa.addMedia(Buffer.alloc(10, 3), "application/pdf", { url: "https://evil.example.test/steal" });
      const doc = { type: "document", document: { id: offsite, mime_type: "application/pdf", filename: "a.pdf", caption: "my doc" } };
      assert.equal((await post(messagePayload(wa.phoneNumberId, ALICE, doc))).status, 200);
      assert.ok(logs.some((l) => /Meta's hosts only/.test(l)));
      assert.equal(wa.mediaCalls.length, 2, "the off-site URL was never asked");
      const runs = await until(async () => { const r = await app.kernel.listRuns({}); return r.length === 2 && r; }, "two turns");
      for (const r of runs) await app.kernel.result(r.id);
      const scope = app.tenants.scope(tenantId);
      const kept = (await sessions.history(scope, (await sessions.latest(scope))!.id)).filter((m) => m.role === "user").map((m) => m.content);
      assert.deepEqual(kept.map((c) => c.split("\n")[0]), ["corrupt", "my doc"]);
      assert.ok(kept.every((c) => /\[an attachment was not kept: /.test(c)), kept.join(" | "));

      const before = wa.mediaCalls.length;
      const photo = wa.addMedia(Buffer.alloc(10, 4), "image/jpeg");
      assert.equal((await post(messagePayload(wa.phoneNumberId, BOB, { type: "image", image: { id: photo } }))).status, 200);
      assert.equal(wa.mediaCalls.length, before);
      assert.match(to(BOB).at(-1)!.text, /pairing code/);

      assert.equal((await text(ALICE, "x")).status, 200);
      assert.equal((await post(messagePayload(wa.phoneNumberId, ALICE, { type: "location", location: { latitude: 1, longitude: 2 } }))).status, 200);
      assert.match(to(ALICE).at(-1)!.text, /not this kind of message/);
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
      for (const st of ["delivered", "sent", "read", "delivered"]) assert.equal((await status(sent.id, st, { to: ALICE })).status, 200);
      assert.equal((await outbox.get(scope, key, 0))?.status, "read", "never backwards");

      // A delivery whose call Meta accepted but whose answer never came: the row stays `sending`…
      wa.dropNextAnswer();
      const lostKey = "notice:lost-answer";
      const session = (await sessions.latest(scope))!;
      await assert.rejects(app.channels.deliver({ tenantId, session, kind: "notice", text: "Reminder: stretch.", key: lostKey }));
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
      const session = (await sessions.find(scope, WHATSAPP_CLOUD, ALICE)) ?? (await sessions.open(scope, WHATSAPP_CLOUD, ALICE, Date.now()));
      const deliver = (text: string, key: string) => app.channels.deliver({ tenantId, session, kind: "notice", text, key });
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
