import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { policies } from "../src/agent/policy.ts";
import { approvals } from "../src/agent/approvals.ts";
import { sessions } from "../src/sessions/store.ts";
import { splitMessage, telegramChannel } from "../src/channels/telegram/index.ts";
import { UNPAIRED_REPLY } from "../src/sessions/inbox.ts";
import { UNAVAILABLE_REPLY } from "../src/agent/unavailable.ts";
import { BACKENDS } from "./support/backends.ts";
import { testAgentd } from "./support/app.ts";
import { Bot, GrammyError } from "grammy";
import { startTelegramServer } from "./support/telegram-server.ts";
import { sentTo, telegramRig, WEBHOOK_SECRET as SECRET } from "./support/telegram-rig.ts";
import { until } from "./support/wait.ts";
import { ADMIN, served } from "./support/api.ts";
import { freePort } from "./support/cli.ts";

const ALICE = { id: 501, is_bot: false, first_name: "Alice", username: "alice" };
const MALLORY = { id: 666, is_bot: false, first_name: "Mallory", username: "mallory" };

let updateId = 1;
const textUpdate = (from: typeof ALICE, text: string, update_id = updateId++) => ({
  update_id,
  message: { message_id: update_id, date: Math.floor(Date.now() / 1000), chat: { id: from.id, type: "private", first_name: from.first_name }, from, text },
});
const pressUpdate = (from: typeof ALICE, data: string, message: { message_id: number; text: string; chatId: number } = { message_id: 1, text: "x", chatId: from.id }) => ({
  update_id: updateId++,
  callback_query: {
    id: `cq${updateId}`, from, chat_instance: "ci", data,
    message: { message_id: message.message_id, date: 0, chat: { id: message.chatId, type: "private" }, text: message.text },
  },
});


for (const b of BACKENDS) {
  describe(`telegram channel (${b.name})`, () => {
    async function setup(t: { after(fn: () => unknown): void }, opts: Parameters<typeof telegramRig>[2] = {}) {
      const env = await telegramRig(t, b, opts);
      const { post } = env;
      const pair = async (user: typeof ALICE, tenantId = env.tenantId) => {
        const { code } = await env.app.tenants.createPairingCode(tenantId);
        assert.equal((await post(textUpdate(user, `/start ${code}`))).status, 200);
      };
      return { ...env, pair };
    }

    const userMessages = async (app: Awaited<ReturnType<typeof testAgentd>>["app"], tenantId: string) => {
      const scope = app.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      return s ? (await sessions.history(scope, s.id)).filter((m) => m.role === "user") : [];
    };

    test("an unpaired user gets instructions and no turn; /start CODE pairs; then the model's reply arrives", async (t) => {
      const { app, model, tg, post, tenantId } = await setup(t);
      assert.equal((await post(textUpdate(ALICE, "hello?"))).status, 200);
      assert.deepEqual(sentTo(tg, ALICE.id).map((c) => c.params.text), [UNPAIRED_REPLY]);
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
      assert.deepEqual((await userMessages(app, tenantId)).map((m) => m.content), ["hi there"]);
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
      assert.equal((await post(textUpdate(ALICE, "forged"), SECRET + "x")).status, 401);
      assert.equal(tg.calls.length, calls, "no Bot API call for a forged update");
      assert.equal((await userMessages(app, tenantId)).length, 0);
      // With the secret but malformed: 400 with the reason, in the API's error shape.
      const raw = (body: string) => ch.webhook.request("/", { method: "POST", headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET }, body });
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
      const { app, model, tg, ch, post, pair, tenantId } = await setup(t, { channel: { onError: (e) => errors.push(String(e)) } });
      await pair(ALICE);
      const { from: _from, ...noSender } = textUpdate(ALICE, "who am I").message;
      const bodies = [
        { update_id: updateId++, message: noSender },
        { update_id: updateId++, message: {} },
        { update_id: updateId++, message: "x" },
        { update_id: updateId++, callback_query: { id: "cq", data: "approve:x" } },
      ];
      for (const body of bodies) {
        const res = await post(body);
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.match(((await res.json()) as { ignored: string }).ignored, new RegExp(`^update ${body.update_id} was acknowledged and ignored: `));
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

    test("a model that cannot answer: the person gets one plain sentence, and the reply once a retry succeeds", async (t) => {
      const { app, model, tg, post, pair, tenantId } = await setup(t, { config: { modelRetry: { maxAttempts: 3, initialInterval: "10ms", backoffFactor: 1 } } });
      await pair(ALICE);
      model.fallback = () => ({ status: 503 });
      assert.equal((await post(textUpdate(ALICE, "are you there?"))).status, 200);
      const [run] = await until(async () => {
        const failed = await app.kernel.failedRuns();
        return failed.length ? failed : null;
      }, "the failed turn");
      assert.deepEqual(sentTo(tg, ALICE.id).slice(1).map((c) => c.params.text), [UNAVAILABLE_REPLY], "one sentence, nothing internal");
      model.fallback = (req) => ({ text: `ok: ${req.body.messages.at(-1).content}` });
      await app.kernel.retry(run!.id);
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "ok: are you there?"), "the answer");
      assert.equal((await userMessages(app, tenantId)).length, 1);
      assert.equal(sentTo(tg, ALICE.id).filter((c) => c.params.text === UNAVAILABLE_REPLY).length, 1);
    });

    test("a long reply is split into several messages, each within 4096 characters", async (t) => {
      const { model, tg, post, pair } = await setup(t);
      await pair(ALICE);
      const paragraph = (i: number) => `Paragraph ${i}. ` + "word ".repeat(300).trim();
      const long = Array.from({ length: 12 }, (_, i) => paragraph(i)).join("\n\n") + "\n\n" + "x".repeat(5000);
      model.script({ text: long });
      const before = sentTo(tg, ALICE.id).length;
      await post(textUpdate(ALICE, "write a lot"));
      // The x's span two parts: wait for the whole reply, not the first part that ends in x.
      const parts = await until(() => {
        const p = sentTo(tg, ALICE.id).slice(before);
        return p.map((c) => c.params.text).join("").replace(/\s+/g, "").length >= long.replace(/\s+/g, "").length ? p : undefined;
      });
      assert.ok(parts.length >= 6, `${parts.length} parts`);
      for (const p of parts) assert.ok(p.params.text.length <= 4096, `part of ${p.params.text.length}`);
      assert.equal(parts.map((p) => p.params.text).join("").replace(/\s+/g, ""), long.replace(/\s+/g, ""));
      assert.ok(parts.every((p) => /(word|x)$/.test(p.params.text)), "parts end at a word, not mid-word");
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

    test("an approval keyboard press approves and the turn completes; a press by another tenant's user, or from another chat of the tenant, is refused", async (t) => {
      const { app, model, tg, post, pair, tenantId } = await setup(t);
      await pair(ALICE);
      const other = await app.tenants.create("other", {});
      await pair(MALLORY, other.id);
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      model.script({ toolCalls: [{ name: "remember", arguments: { content: "birthday is May 3" } }] }, { text: "Saved." });
      await post(textUpdate(ALICE, "remember my birthday"));
      const ask = await until(() => sentTo(tg, ALICE.id).find((c) => c.params.reply_markup));
      const buttons = ask.params.reply_markup.inline_keyboard.flat() as { text: string; callback_data: string }[];
      assert.deepEqual(buttons.map((k) => k.text), ["Approve once", "Always", "Deny"]);
      const pending = (await approvals.list(scope))[0]!;
      assert.deepEqual(buttons.map((k) => k.callback_data), ["once", "always", "deny"].map((c) => `apr:${pending.id}:${c}`));

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
      assert.match(tg.messages.get(askMsg.message_id)!.text, /Approved once/, "the approval message says what was decided");
      assert.equal(tg.messages.get(askMsg.message_id)!.reply_markup, undefined, "and its buttons are gone");
      await until(() => sentTo(tg, ALICE.id).find((c) => c.params.text === "Saved."));
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved");
      assert.equal(await app.memory.count(scope), 1);

      // A stale press (already decided) is refused with an answer and changes nothing.
      await post(pressUpdate(ALICE, buttons[2]!.callback_data));
      assert.match(tg.callsOf("answerCallbackQuery").at(-1)!.params.text, /Already approved/);
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved");
    });

    test("a sticker gets a short answer and no turn (photos and voice notes: telegram-media.test.ts)", async (t) => {
      const { model, tg, post, pair } = await setup(t);
      await pair(ALICE);
      const sticker = { file_id: "f", file_unique_id: "u", type: "regular", width: 1, height: 1, is_animated: false, is_video: false };
      assert.equal((await post({ update_id: updateId++, message: { message_id: 9, date: 0, chat: { id: ALICE.id, type: "private" }, from: ALICE, sticker } })).status, 200);
      assert.match(sentTo(tg, ALICE.id).at(-1)!.params.text, /not this kind of message/);
      assert.equal(model.calls, 0);
    });

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

test("an unreachable Bot API is logged at once with its cause, retried with a growing backoff, and shown down in /health and /metrics until it answers", async (t) => {
  const s = await served(t, BACKENDS[0]!);
  const port = await freePort();
  const token = "123456:TEST-token";
  const lines: string[] = [];
  const ch = telegramChannel(s.app, { token, secretToken: "unused", apiRoot: `http://127.0.0.1:${port}`, log: (line) => lines.push(line) });
  t.after(() => ch.close());
  const ac = new AbortController();
  const started = Date.now();
  const loop = ch.poll(ac.signal);
  t.after(async () => {
    ac.abort();
    await loop;
  });
  await until(() => lines[0], "the first failure, logged at once");
  assert.ok(Date.now() - started < 5_000, "at once, not after grammY's silent retries");
  assert.match(lines[0]!, /^cannot reach the Bot API: Network request for 'getMe' failed! .*ECONNREFUSED.*; trying again in 500 ms \(failure 1 in a row\)$/);
  assert.ok(!lines.join("\n").includes(token), "the token is never logged");
  const health = await s.call("GET", "/health", { token: ADMIN });
  assert.equal(health.body.status, "degraded");
  const component = health.body.components.find((c: { name: string }) => c.name === "telegram");
  assert.equal(component.ok, false);
  assert.match(component.detail, /^cannot reach the Bot API: .*ECONNREFUSED/);
  assert.ok(health.body.reasons.some((r: string) => /^telegram: cannot reach the Bot API: .*ECONNREFUSED/.test(r)), health.body.reasons.join("; "));
  assert.match((await s.call("GET", "/metrics", { token: ADMIN })).text, /^agentd_component_up\{name="telegram"\} 0$/m);
  await until(() => lines[1], "the second try");
  assert.match(lines[1]!, /; trying again in 1 s \(failure 2 in a row\)$/, "the backoff grows");

  const tg = await startTelegramServer({ token, port });
  t.after(() => tg.close());
  await until(() => lines.find((l) => l.startsWith("the Bot API answers again")), "the channel up again once the Bot API answers");
  assert.match(lines.at(-1)!, /^the Bot API answers again after \d+ failed tries$/);
  assert.match((await s.call("GET", "/metrics", { token: ADMIN })).text, /^agentd_component_up\{name="telegram"\} 1$/m);
  const again = await s.call("GET", "/health", { token: ADMIN });
  assert.deepEqual([again.body.status, again.body.reasons], ["up", []]);
});

describe("Bot API stand-in", () => {
  test("speaks like Telegram: length limit, unchanged edits, bad token, form bodies", async (t) => {
    const tg = await startTelegramServer();
    t.after(() => tg.close());
    const bot = new Bot(tg.token, { client: { apiRoot: tg.apiRoot } });
    await assert.rejects(bot.api.sendMessage(1, "x".repeat(4097)), (e: unknown) => e instanceof GrammyError && e.error_code === 400 && /message is too long/.test(e.description));
    const m = await bot.api.sendMessage(1, "hello");
    await assert.rejects(bot.api.editMessageText(1, m.message_id, "hello"), (e: unknown) => e instanceof GrammyError && /message is not modified/.test(e.description));
    assert.equal((await bot.api.editMessageText(1, m.message_id, "hello!")) !== true, true);
    await assert.rejects(new Bot("1:bad", { client: { apiRoot: tg.apiRoot } }).api.getMe(), (e: unknown) => e instanceof GrammyError && e.error_code === 401);
    const form = await fetch(`${tg.apiRoot}/bot${tg.token}/sendMessage`, { method: "POST", body: new URLSearchParams({ chat_id: "2", text: "via form" }) });
    assert.equal(((await form.json()) as { result: { text: string } }).result.text, "via form");
    tg.rateLimitNext("getMe", 3);
    const limited = (await (await fetch(`${tg.apiRoot}/bot${tg.token}/getMe`, { method: "POST" })).json()) as { error_code: number; parameters: { retry_after: number } };
    assert.deepEqual([limited.error_code, limited.parameters.retry_after], [429, 3]);
  });
});

describe("splitMessage", () => {
  test("cuts at paragraph, then line, then space, never over the limit and never inside a surrogate pair", () => {
    assert.deepEqual(splitMessage("short"), ["short"]);
    assert.deepEqual(splitMessage("aaaa bbbb\n\ncccc", 12), ["aaaa bbbb", "cccc"]);
    assert.deepEqual(splitMessage("aaaa\nbbbb cccc", 12), ["aaaa\nbbbb", "cccc"]);
    assert.deepEqual(splitMessage("aaaaaa bbbbbb", 10), ["aaaaaa", "bbbbbb"]);
    const emoji = "😀".repeat(10); // 20 code units
    const parts = splitMessage(emoji, 5);
    assert.ok(parts.every((p) => p.length <= 5 && !/[\ud800-\udbff]$/.test(p)));
    assert.equal(parts.join(""), emoji);
  });
});
