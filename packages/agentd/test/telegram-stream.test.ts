import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatReply, toTelegramHtml } from "../src/channels/telegram/format.ts";
import { placeholderKey } from "../src/channels/telegram/live.ts";
import { outbox } from "../src/channels/outbox.ts";
import { sessions } from "../src/sessions/store.ts";
import { BACKENDS } from "./support/backends.ts";
import { startModelServer } from "./support/model-server.ts";
import { telegramRig } from "./support/telegram-rig.ts";
import { parseHtml, type startTelegramServer, type TelegramServer } from "./support/telegram-server.ts";
import { until } from "./support/wait.ts";

const ALICE = { id: 601, is_bot: false, first_name: "Alice" };
const GROUP = -100601;
const INTERVAL = 150;
const GROUP_INTERVAL = 400;

let updateId = 1;
const textUpdate = (text: string, chatId: number = ALICE.id) => ({
  update_id: updateId++,
  message: {
    message_id: updateId,
    date: Math.floor(Date.now() / 1000),
    from: ALICE,
    text,
    chat:
      chatId > 0 ? { id: chatId, type: "private", first_name: "Alice" } : { id: chatId, type: "group", title: "team" },
  },
});

/** What a person reads in a message: the text after Telegram parsed its markup. */
const readable = (m: { text: string; parse_mode?: string }) => {
  if (m.parse_mode !== "HTML") return m.text;
  const p = parseHtml(m.text);
  assert.ok("text" in p, `Telegram would refuse: ${"error" in p ? p.error : ""}`);
  return p.text;
};
const to = (tg: TelegramServer, method: string, chatId: number) =>
  tg.callsOf(method).filter((c) => String(c.params.chat_id) === String(chatId));
const gaps = (calls: { at: number }[]) => calls.slice(1).map((c, i) => c.at - (calls[i] as { at: number }).at);

const REPLY = "The **answer** is 42, and `x < y` holds. ".repeat(16).trim();
const READABLE = toReadable(REPLY);
function toReadable(md: string): string {
  const p = parseHtml(toTelegramHtml(md));
  assert.ok("text" in p);
  return p.text;
}

for (const b of BACKENDS) {
  describe(`telegram live replies (${b.name})`, () => {
    async function setup(
      t: { after(fn: () => unknown): void },
      server: Parameters<typeof startTelegramServer>[0] = {},
    ) {
      const model = await startModelServer({ chunkChars: 6 });
      t.after(() => model.close());
      const errors: unknown[] = [];
      const env = await telegramRig(t, b, {
        model,
        server,
        channel: { liveIntervalMs: INTERVAL, groupLiveIntervalMs: GROUP_INTERVAL, onError: (e) => errors.push(e) },
      });
      const { tg } = env;
      const post = async (update: object) => assert.equal((await env.post(update)).status, 200);
      const { code } = await env.app.tenants.createPairingCode(env.tenantId);
      await post(textUpdate(`/start ${code}`));
      /** Waits until the chat shows a message reading `text`; returns the call that sent it. */
      const finalIn = async (chatId: number, text: string) => {
        const m = await until(
          () => tg.visible(chatId).find((v) => readable(v) === text),
          `the final reply in ${chatId}`,
          20_000,
        );
        return to(tg, "sendMessage", chatId).findLast((c) => c.params.text === m.text)!;
      };
      return { ...env, post, finalIn, errors };
    }

    test("a private chat sees the reply grow as one draft, then gets it as one notifying message", async (t) => {
      const { tg, post, model, finalIn } = await setup(t);
      model.script({ text: REPLY, tokenDelayMs: 8 });
      const sends = to(tg, "sendMessage", ALICE.id).length;
      await post(textUpdate("what is the answer?"));
      await finalIn(ALICE.id, READABLE);

      const drafts = to(tg, "sendMessageDraft", ALICE.id);
      assert.ok(drafts.length >= 3, `${drafts.length} drafts`);
      assert.equal(new Set(drafts.map((d) => d.params.draft_id)).size, 1, "one draft, animated across updates");
      // A draft cut inside markup shows the bare markers: compare without them.
      const bare = (s: string) => s.replace(/[*`]/g, "");
      const shown = drafts.map((d) => bare(readable(d.params as never).replace(/ …$/, "")));
      for (const [i, s] of shown.entries()) {
        assert.ok(bare(READABLE).startsWith(s.trimEnd()), `draft ${i} is a prefix of the reply: ${s.slice(-40)}`);
        if (i > 0) assert.ok(s.length >= (shown[i - 1] as string).length, "drafts only grow");
      }
      for (const g of gaps(drafts)) assert.ok(g >= INTERVAL - 40, `drafts ${g} ms apart, throttled to ${INTERVAL}`);
      const typing = tg.callsOf("sendChatAction").find((c) => String(c.params.chat_id) === String(ALICE.id));
      assert.ok(typing && typing.at <= (drafts[0] as { at: number }).at, "typing shows before the first draft");

      const finals = to(tg, "sendMessage", ALICE.id).slice(sends);
      assert.equal(finals.length, 1, "exactly one message, no placeholder");
      assert.equal(finals[0]!.params.parse_mode, "HTML");
      assert.deepEqual(
        tg
          .visible(ALICE.id)
          .slice(-1)
          .map((m) => readable(m)),
        [READABLE],
      );
      assert.equal(tg.drafts.has(String(ALICE.id)), false, "the draft is gone once the message is sent");
    });

    test("where drafts are refused, a silent placeholder is edited, then replaced by a notifying message and deleted", async (t) => {
      const { app, tenantId, tg, post, model, finalIn } = await setup(t);
      tg.draftsUnsupported = true;
      model.script({ text: REPLY, tokenDelayMs: 8 });
      const before = tg.visible(ALICE.id).length;
      await post(textUpdate("again, please"));
      await finalIn(ALICE.id, READABLE);
      await until(() => tg.callsOf("deleteMessage").length === 1, "the placeholder deleted");

      assert.equal(to(tg, "sendMessageDraft", ALICE.id).length, 1, "drafts tried once, then not again for this chat");
      const [placeholder, final] = to(tg, "sendMessage", ALICE.id).slice(-2);
      assert.equal(placeholder!.params.disable_notification, true, "the placeholder does not notify");
      assert.ok(to(tg, "editMessageText", ALICE.id).length >= 2, "the placeholder is edited as the reply grows");
      assert.equal(final!.params.disable_notification, undefined, "the finished reply notifies");
      assert.deepEqual(
        tg
          .visible(ALICE.id)
          .slice(before)
          .map((m) => readable(m)),
        [READABLE],
        "one message left: the complete reply",
      );

      const scope = app.tenants.scope(tenantId);
      // The placeholder is deleted inside the turn; the run completes just after.
      const runId = (
        await until(
          async () => (await app.kernel.listRuns({})).find((r) => r.status === "completed"),
          "the turn completed",
        )
      ).id;
      const row = await outbox.get(scope, placeholderKey(runId), 0);
      assert.equal(row?.status, "deleted");
    });

    test("a group chat is streamed by edits at the group pace", async (t) => {
      const { tg, post, model, finalIn } = await setup(t);
      model.script({ text: REPLY, tokenDelayMs: 10 });
      await post(textUpdate("team question", GROUP));
      await finalIn(GROUP, READABLE);
      assert.equal(to(tg, "sendMessageDraft", GROUP).length, 0, "no drafts outside private chats");
      const updates = [...to(tg, "sendMessage", GROUP).slice(0, 1), ...to(tg, "editMessageText", GROUP)];
      assert.ok(updates.length >= 2, `${updates.length} updates`);
      for (const g of gaps(updates))
        assert.ok(g >= GROUP_INTERVAL - 40, `edits ${g} ms apart, throttled to ${GROUP_INTERVAL}`);
      await until(() => tg.visible(GROUP).length === 1, "only the final message left");
    });

    test("under flood control, refused previews wait out retry_after and the reply still arrives exactly once", async (t) => {
      const { tg, post, model, finalIn } = await setup(t, { perChatPerSecond: 3 });
      model.script({ text: REPLY, tokenDelayMs: 20 });
      const before = tg.visible(ALICE.id).length;
      await post(textUpdate("flood me"));
      await finalIn(ALICE.id, READABLE);
      const drafts = to(tg, "sendMessageDraft", ALICE.id);
      assert.ok(tg.floodRefusals > 0, "the stand-in refused some calls");
      // After a refused draft, the next one waits the second Telegram asked for.
      const refusedAt = drafts.filter((d) => d.floodRefused).map((d) => d.at);
      assert.ok(refusedAt.length > 0, "some drafts were refused");
      const gapsAfter = refusedAt.flatMap((at) =>
        drafts
          .filter((d) => d.at > at)
          .slice(0, 1)
          .map((next) => next.at - at),
      );
      assert.ok(gapsAfter.length > 0, "the reply went on streaming after a refusal");
      for (const g of gapsAfter) assert.ok(g >= 900, `a draft ${g} ms after a refusal`);
      assert.deepEqual(
        tg
          .visible(ALICE.id)
          .slice(before)
          .map((m) => readable(m)),
        [READABLE],
      );
    });

    test("markdown becomes Telegram HTML; markup Telegram refuses is sent again as plain text", async (t) => {
      const { tg, post, model, finalIn, errors } = await setup(t);
      model.script({ text: "Use `a < b && c` and **bold** [docs](https://example.test/a_b)." });
      await post(textUpdate("format"));
      const sent = await finalIn(ALICE.id, "Use a < b && c and bold docs.");
      assert.equal(
        sent.params.text,
        'Use <code>a &lt; b &amp;&amp; c</code> and <b>bold</b> <a href="https://example.test/a_b">docs</a>.',
      );

      tg.refuseMarkup = 1000;
      model.script({ text: "Plain **fallback** please" });
      await post(textUpdate("refuse it"));
      const plain = await until(
        () => to(tg, "sendMessage", ALICE.id).find((c) => c.params.text === "Plain **fallback** please"),
        "the plain-text fallback",
      );
      assert.equal(plain.params.parse_mode, undefined);
      assert.ok(
        errors.some((e) => /formatting/.test(String(e))),
        "the fallback is reported",
      );
      assert.equal(tg.visible(ALICE.id).filter((m) => /fallback/.test(m.text)).length, 1);
    });

    test("a delivery replayed with the same key sends nothing twice (the outbox remembers each part)", async (t) => {
      const { app, tenantId, tg, ch } = await setup(t);
      const scope = app.tenants.scope(tenantId);
      const session = await sessions.open(scope, "telegram", String(ALICE.id), Date.now());
      const long = Array.from({ length: 3 }, (_, i) => `Part ${i} ${"word ".repeat(900).trim()}`).join("\n\n");
      const d = { tenantId, session, kind: "reply" as const, text: long, key: "reply:test-replay" };
      const before = to(tg, "sendMessage", ALICE.id).length;
      await ch.adapter.deliver(d);
      await ch.adapter.deliver(d);
      const sent = to(tg, "sendMessage", ALICE.id).slice(before);
      const n = formatReply(long).length;
      assert.ok(n >= 3);
      assert.equal(sent.length, n, "each part once");
      assert.deepEqual(
        (await outbox.parts(scope, d.key)).map((p) => p.status),
        Array(n).fill("sent"),
      );
    });
  });
}

describe("telegram formatting", () => {
  test("whatever the model writes, every part parses under Telegram's rules and fits in one message", () => {
    const pieces = [
      "**",
      "*",
      "_",
      "__",
      "`",
      "```",
      "```js\n",
      "~~",
      "[x](https://a.test/b_c)",
      "[",
      "](",
      ")",
      "<",
      ">",
      "&",
      "&amp;",
      "# ",
      "\n",
      "\n\n",
      "> ",
      "- ",
      "word ",
      "😀",
      "a_b_c ",
      "2*3*4 ",
    ];
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let round = 0; round < 400; round++) {
      const len = 1 + rand(round % 10 === 0 ? 3000 : 60);
      let md = "";
      for (let i = 0; i < len; i++) md += pieces[rand(pieces.length)];
      for (const part of formatReply(md)) {
        assert.ok(part.plain.length <= 4096);
        if (part.html === null) continue;
        const p = parseHtml(part.html);
        assert.ok("text" in p, `refused: ${"error" in p ? p.error : ""} for ${JSON.stringify(md.slice(0, 200))}`);
        assert.ok(p.text.length <= 4096);
      }
    }
  });

  test("a code block cut between two messages is closed and reopened", () => {
    const code = `\`\`\`\n${"let x = 1;\n".repeat(600)}\`\`\``;
    const parts = formatReply(code);
    assert.ok(parts.length >= 2);
    for (const p of parts) assert.match(p.html ?? "", /^<pre>[\s\S]*<\/pre>$/);
  });
});
