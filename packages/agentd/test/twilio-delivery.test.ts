/**
 * The Twilio channel's guarantees beyond the happy path: replies through the durable outbox (a
 * replayed delivery sends nothing twice, a call whose answer was lost is found in Twilio's message
 * log instead of being sent again), delivery status callbacks, replayed webhooks, and media.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { approvals } from "../src/agent/approvals.ts";
import { policies } from "../src/agent/policy.ts";
import { outbox } from "../src/channels/outbox.ts";
import { downloadMedia, mediaUrl, TwilioMediaError } from "../src/channels/twilio/index.ts";
import { Recent } from "../src/channels/recent.ts";
import { sessions } from "../src/sessions/store.ts";
import { BACKENDS } from "./support/backends.ts";
import { PUBLIC_URL, setup } from "./support/twilio-rig.ts";
import { startTwilioServer } from "./support/twilio-server.ts";
import { until } from "./support/wait.ts";

const USER = "+15550004444";

for (const b of BACKENDS) {
  describe(`twilio delivery (${b.name})`, () => {
    test("each part of a reply is recorded in the outbox with its MessageSid; a replayed delivery sends nothing more", async (t) => {
      const { app, tw, model, inbound, pair, tenantId } = await setup(t, b);
      await pair(USER);
      const long = Array.from(
        { length: 40 },
        (_, i) => `Sentence ${i} of an answer long enough for two SMS parts.`,
      ).join(" ");
      model.script({ text: long });
      await inbound(USER, "long please");
      const [run] = await app.kernel.listRuns({});
      await app.kernel.result(run!.id);
      const key = `reply:${run!.id}`;
      const scope = app.tenants.scope(tenantId);
      const parts = await until(async () => {
        const p = await outbox.parts(scope, key);
        return p.length >= 2 && p.every((x) => x.externalId) && p;
      }, "the outbox rows");
      const sent = tw.messages.filter((m) => m.to === USER && m.body.startsWith("Sentence"));
      assert.deepEqual(
        parts.map((p) => p.externalId),
        sent.map((m) => m.sid),
      );
      assert.ok(parts.every((p) => p.status === "sent" && p.channel === "sms" && p.conversation === USER));
      assert.ok(
        sent.every((m) => m.statusCallback === `${PUBLIC_URL}/status`),
        "each message asks for status callbacks",
      );

      const before = tw.messages.length;
      const session = (await sessions.latest(scope))!;
      await app.channels.deliver({ tenantId, session, kind: "reply", text: long, key });
      assert.equal(tw.messages.length, before, "the replayed delivery found every part sent");
    });

    test("an API call whose answer is lost (the message was created) is found in the message log and not sent again", async (t) => {
      const { app, tw, model, inbound, pair, tenantId } = await setup(t, b);
      await pair(USER);
      model.script({ text: "Exactly once, please." });
      tw.dropNextAnswer();
      await inbound(USER, "hi");
      const [run] = await app.kernel.listRuns({});
      assert.equal((await app.kernel.result<{ text: string }>(run!.id)).text, "Exactly once, please.");
      const mine = tw.messages.filter((m) => m.to === USER && m.body === "Exactly once, please.");
      assert.equal(mine.length, 1, "one message at Twilio although the first call failed");
      assert.ok(
        tw.calls.some((c) => c.method === "GET" && c.path.endsWith("/Messages.json")),
        "the retry looked in the message log",
      );
      const [row] = await outbox.parts(app.tenants.scope(tenantId), `reply:${run!.id}`);
      assert.equal(row?.externalId, mine[0]!.sid, "the found message is recorded as this part");
    });

    test("a part left sending with nothing at Twilio is sent; a message with the same body already claimed by another part is not taken for it", async (t) => {
      const { app, tw, pair, tenantId } = await setup(t, b);
      await pair(USER);
      const scope = app.tenants.scope(tenantId);
      const session = await sessions.open(scope, "sms", USER, Date.now());
      await app.channels.deliver({ tenantId, session, kind: "notice", text: "Same words.", key: "notice:1" });
      assert.equal(tw.messages.filter((m) => m.body === "Same words.").length, 1);
      // A second delivery of the same words crashed between its `sending` row and the API call.
      await outbox.begin(scope, { key: "notice:2", part: 0, channel: "sms", conversation: USER }, Date.now());
      await app.channels.deliver({ tenantId, session, kind: "notice", text: "Same words.", key: "notice:2" });
      const same = tw.messages.filter((m) => m.body === "Same words.");
      assert.equal(same.length, 2, "the first message belongs to notice:1; notice:2 is sent");
      assert.equal((await outbox.get(scope, "notice:2", 0))?.externalId, same[1]!.sid);
    });

    test("WhatsApp outside the 24-hour window (ErrorCode 63016): the reply is held and sent again when the person writes; a failed look-alike in the log is not taken for it", async (t) => {
      const { app, tw, model, inbound, pair, status, tenantId } = await setup(t, b);
      const WA = "whatsapp:+15550007070";
      await pair(WA);
      const scope = app.tenants.scope(tenantId);
      model.script({ text: "Your late answer." }, { text: "And the new one." });
      await inbound(WA, "answer me later");
      const [first] = await app.kernel.listRuns({});
      await app.kernel.result(first!.id);
      const key = `reply:${first!.id}`;
      const sent = await until(async () => (await outbox.get(scope, key, 0))?.externalId, "the reply sent");
      assert.equal(await status(sent, "undelivered", { errorCode: "63016" }), 200);
      const held = await outbox.get(scope, key, 0);
      assert.deepEqual([held?.status, held?.externalId, held?.detail], ["held", null, "63016"]);

      await inbound(WA, "hello again");
      const bodies = () => tw.messages.filter((m) => m.to === WA).map((m) => m.body);
      await until(
        () => bodies().filter((x) => x === "Your late answer.").length === 2 && bodies().includes("And the new one."),
        "the held reply and the new one",
      );
      const again = await outbox.get(scope, key, 0);
      assert.equal(again?.status, "sent");
      assert.notEqual(again?.externalId, sent, "a new message, not the failed one found in the log");
      assert.equal(model.calls, 2, "the model is not asked again for the held reply");
    });

    test("status callbacks: signed over the status URL, only forward (delivered is not undone by a late sent), failures keep their ErrorCode", async (t) => {
      const { app, tw, status, pair, tenantId, logs } = await setup(t, b);
      await pair(USER);
      const scope = app.tenants.scope(tenantId);
      const session = await sessions.open(scope, "sms", USER, Date.now());
      await app.channels.deliver({ tenantId, session, kind: "notice", text: "First.", key: "n:1" });
      await app.channels.deliver({ tenantId, session, kind: "notice", text: "Second.", key: "n:2" });
      const sid1 = (await outbox.get(scope, "n:1", 0))!.externalId!;
      const sid2 = (await outbox.get(scope, "n:2", 0))!.externalId!;

      assert.equal(
        await status(sid1, "delivered", { url: PUBLIC_URL }),
        403,
        "signed over the inbound URL, not the status URL",
      );
      assert.equal(await status(sid1, "delivered", { signature: "AAAA" }), 403);
      assert.equal(
        await status(sid1, "delivered", { accountSid: "AC00000000000000000000000000000000" }),
        403,
        "another account",
      );
      assert.equal((await outbox.get(scope, "n:1", 0))?.status, "sent");

      assert.equal(await status(sid1, "queued"), 200);
      assert.equal((await outbox.get(scope, "n:1", 0))?.status, "sent", "queued does not undo sent");
      assert.equal(await status(sid1, "delivered"), 200);
      assert.equal(await status(sid1, "sent"), 200);
      assert.equal((await outbox.get(scope, "n:1", 0))?.status, "delivered", "a late sent does not undo delivered");
      assert.equal(await status(sid1, "read"), 200);
      assert.equal(await status(sid1, "delivered"), 200);
      assert.equal((await outbox.get(scope, "n:1", 0))?.status, "read");

      assert.equal(await status(sid2, "undelivered", { errorCode: "30003" }), 200);
      const failed = await outbox.get(scope, "n:2", 0);
      assert.deepEqual([failed?.status, failed?.detail], ["undelivered", "30003"]);
      assert.equal(await status(sid2, "undelivered", { errorCode: "30003" }), 200, "a replay is answered 200");
      assert.equal(logs.filter((l) => l.includes(sid2)).length, 1, "logged once");
      assert.match(logs.find((l) => l.includes(sid2))!, /undelivered \(error 30003/);
      assert.ok(!logs.some((l) => l.includes(tw.authToken)));
    });

    test("replays: a captured pairing, a captured NO after YES, an idempotency token seen before: nothing decided, started or sent twice", async (t) => {
      const { app, tw, model, inbound, tenantId, turns } = await setup(t, b);
      const scope = app.tenants.scope(tenantId);
      const { code } = await app.tenants.createPairingCode(tenantId);
      const pairing = await inbound(USER, `pair ${code}`);
      const sentAfterPairing = tw.messages.length;
      await inbound(USER, `pair ${code}`, { sid: pairing.sid });
      assert.equal(await turns(), 0, "the replayed pairing message did not become a turn");
      assert.equal(tw.messages.length, sentAfterPairing, "and got no second answer");

      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      model.script({ toolCalls: [{ name: "remember", arguments: { content: "x" } }] }, { text: "Saved." });
      await inbound(USER, "remember x");
      const pending = await until(async () => (await approvals.list(scope))[0], "the approval");
      const yes = await inbound(USER, `YES ${pending.code}`);
      assert.equal(yes.status, 200);
      assert.equal((await app.kernel.result<{ text: string }>(pending.runId)).text, "Saved.");
      const runs = await turns();
      const no = await inbound(USER, `NO ${pending.code}`);
      await inbound(USER, `NO ${pending.code}`, { sid: no.sid });
      await inbound(USER, `YES ${pending.code}`, { sid: yes.sid });
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved", "first answer wins");
      assert.equal(await turns(), runs);

      const sent = tw.messages.length;
      model.script({ text: "Once." });
      const first = await inbound(USER, "token test", { token: "tok-1" });
      await until(async () => tw.messages.length > sent, "the reply");
      const other = await inbound(USER, "token test again", { token: "tok-1" });
      assert.equal(other.status, 200);
      assert.notEqual(first.sid, other.sid);
      assert.equal(await turns(), runs + 1, "a request with a token already handled is not processed");
    });
    test("replays after a restart are refused durably: no second instructions to an unknown number, no second download of a paired sender's media", async (t) => {
      const { app, tw, model, inbound, pair, restarted, turns } = await setup(t, b);
      const stranger = await inbound("+15550003030", "who are you?", { token: "cap-1" });
      const instructions = tw.messages.filter((m) => m.to === "+15550003030").length;
      assert.equal(instructions, 1);

      await pair(USER);
      const url = tw.addMedia(new Uint8Array([1, 2, 3, 4]), "image/png");
      model.script({ text: "Seen." });
      const photo = await inbound(USER, "a photo", {
        extra: { NumMedia: "1", MediaUrl0: url, MediaContentType0: "image/png" },
        token: "cap-2",
      });
      const [run] = await app.kernel.listRuns({});
      await app.kernel.result(run!.id);
      const downloads = tw.storageCalls.length;

      const later = restarted();
      assert.equal(
        (await inbound("+15550003030", "who are you?", { sid: stranger.sid, token: "cap-1", via: later.webhook }))
          .status,
        200,
      );
      assert.equal(
        (
          await inbound(USER, "a photo", {
            sid: photo.sid,
            token: "cap-2",
            via: later.webhook,
            extra: { NumMedia: "1", MediaUrl0: url, MediaContentType0: "image/png" },
          })
        ).status,
        200,
      );
      assert.equal(
        tw.messages.filter((m) => m.to === "+15550003030").length,
        instructions,
        "no second instructions message",
      );
      assert.equal(tw.storageCalls.length, downloads, "no second download");
      assert.equal(await turns(), 1);
    });
  });

  describe(`twilio media (${b.name})`, () => {
    test("a paired sender's media is downloaded with Basic auth, kept in the blob store and attached; the storage redirect gets no credentials", async (t) => {
      const { app, tw, model, inbound, pair, tenantId } = await setup(t, b);
      await pair(USER);
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5]);
      const url = tw.addMedia(png, "image/png");
      assert.match(url, /^https:\/\/api\.twilio\.com\/2010-04-01\/Accounts\/AC/);
      model.script({ text: "Nice picture." });
      await inbound(USER, "look", { extra: { NumMedia: "1", MediaUrl0: url, MediaContentType0: "image/png" } });
      const scope = app.tenants.scope(tenantId);
      const s = (await sessions.latest(scope))!;
      const [msg] = (await sessions.history(scope, s.id)).filter((m) => m.role === "user");
      assert.equal(msg?.attachments?.length, 1);
      const att = msg!.attachments![0]!;
      assert.deepEqual([att.kind, att.mime, att.size], ["image", "image/png", png.byteLength]);
      assert.deepEqual(new Uint8Array((await app.blobs.get(tenantId, att.id))!.data), png);
      assert.equal(tw.storageCalls.length, 1);
      assert.equal(tw.storageCalls[0]!.authorization, undefined, "credentials stay with Twilio's API origin");
      assert.ok(
        tw.calls.some((c) => c.method === "GET" && c.status === 307),
        "fetched through the authenticated API URL",
      );
    });

    test("media on another host, or from an unpaired sender, is not fetched; the message still arrives with a note", async (t) => {
      const { app, tw, model, inbound, pair, tenantId } = await setup(t, b, { maxMediaBytes: 8 });
      const evil = "https://evil.example.test/2010-04-01/Accounts/x/Messages/MM1/Media/ME1";
      await inbound("+15550009990", "hi", {
        extra: { NumMedia: "1", MediaUrl0: tw.addMedia(new Uint8Array(4), "image/png") },
      });
      assert.equal(tw.calls.filter((c) => c.method === "GET").length, 0, "nothing fetched for an unknown number");
      await pair(USER);
      model.script({ text: "ok" }, { text: "ok" });
      const small = tw.addMedia(new Uint8Array(4), "image/jpeg");
      await inbound(USER, "two files", { extra: { NumMedia: "2", MediaUrl0: evil, MediaUrl1: small } });
      const scope = app.tenants.scope(tenantId);
      const s = (await sessions.latest(scope))!;
      const [msg] = (await sessions.history(scope, s.id)).filter((m) => m.role === "user");
      assert.equal(msg?.attachments?.length, 1, "the file that could be fetched is kept");
      assert.match(
        msg!.content,
        /^two files\n\[an attachment was not kept: media is fetched from https:\/\/api\.twilio\.com only/,
      );
    });

    test("an oversized media file refuses the message without starting a turn, as Telegram and WhatsApp do; it is cut off at the limit", async (t) => {
      const { app, tw, inbound, pair, tenantId, turns } = await setup(t, b, { maxMediaBytes: 8 });
      await pair(USER);
      const big = tw.addMedia(new Uint8Array(64), "image/jpeg");
      assert.equal((await inbound(USER, "a big one", { extra: { NumMedia: "1", MediaUrl0: big } })).status, 200);
      assert.equal(await turns(), 0, "no turn for a message whose file is too large");
      const scope = app.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      assert.deepEqual(
        s ? (await sessions.history(scope, s.id)).filter((m) => m.role === "user") : [],
        [],
        "nothing stored",
      );
      assert.match(
        tw.messages.filter((m) => m.to === USER).at(-1)!.body,
        /^That file is too large for me \(\d+ B\); I can take files up to 8 B\.$/,
      );
      assert.equal(tw.storageCalls.length, 1, "the large file was cut off at the limit");
    });
  });
}

test("mediaUrl: only Twilio's API origin over https, only this account, rebased onto the API base", async (t) => {
  const o = { accountSid: "AC1" };
  assert.equal(
    mediaUrl("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM/Media/ME", o).href,
    "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM/Media/ME",
  );
  for (const bad of [
    "http://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM/Media/ME",
    "https://api.twilio.com.evil.test/2010-04-01/Accounts/AC1/Messages/MM/Media/ME",
    "https://169.254.169.254/2010-04-01/Accounts/AC1/x",
    "https://api.twilio.com/2010-04-01/Accounts/AC2/Messages/MM/Media/ME",
    "https://u:p@api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM/Media/ME",
    "not a url",
  ])
    assert.throws(() => mediaUrl(bad, o), TwilioMediaError, bad);
  assert.equal(
    mediaUrl("https://api.twilio.com/2010-04-01/Accounts/AC1/M?x=1", { ...o, apiBaseUrl: "http://127.0.0.1:9" }).href,
    "http://127.0.0.1:9/2010-04-01/Accounts/AC1/M?x=1",
  );

  const tw = await startTwilioServer();
  t.after(() => tw.close());
  const url = tw.addMedia(new Uint8Array([1, 2, 3]), "audio/ogg");
  const got = await downloadMedia(url, { accountSid: tw.accountSid, authToken: tw.authToken, apiBaseUrl: tw.url });
  assert.deepEqual([...got.data], [1, 2, 3]);
  assert.equal(got.mime, "audio/ogg");
  await assert.rejects(
    downloadMedia(url, { accountSid: tw.accountSid, authToken: "wrong", apiBaseUrl: tw.url }),
    /HTTP 401/,
  );
});

test("Recent: a retry during the first attempt waits for it; after success it does nothing; after a failure it runs", async () => {
  const recent = new Recent(2);
  let runs = 0;
  let release!: () => void;
  const first = recent.once(["a"], async () => {
    runs++;
    await new Promise<void>((r) => (release = r));
  });
  const retry = recent.once(["a"], async () => void runs++);
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, 1, "the retry waits while the first attempt runs");
  release();
  assert.deepEqual([await first, await retry], [true, false]);
  assert.equal(runs, 1);
  await assert.rejects(
    recent.once(["b"], async () => {
      runs++;
      throw new Error("boom");
    }),
  );
  assert.equal(await recent.once(["b"], async () => void runs++), true, "a failed attempt is forgotten");
  assert.equal(await recent.once(["x", "b"], async () => void runs++), false, "any known key is enough");
  await recent.once(["c"], async () => {});
  await recent.once(["d"], async () => {});
  assert.equal(await recent.once(["a"], async () => void runs++), true, "bounded: the oldest keys are forgotten");
  assert.equal(runs, 4);
});
