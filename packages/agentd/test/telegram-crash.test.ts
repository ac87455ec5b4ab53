/**
 * Crash tests of the Telegram channel: a real `agentd start` (procs/agentd-channels.ts) serving the
 * webhook, talking to the Bot API stand-in, is SIGKILLed while a reply streams (as a draft, and as
 * an edited placeholder) and inside the webhook before its 200, then started again. Telegram's side
 * is played by the test: it redelivers an update that got no 200. After the restart the chat holds
 * exactly one complete reply per message, and no update started a second turn.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Agentd } from "../src/app.ts";
import { placeholderKey } from "../src/channels/telegram/live.ts";
import { outbox } from "../src/channels/outbox.ts";
import { sessions } from "../src/sessions/store.ts";
import { crashBase } from "./support/crash-rig.ts";
import { BACKENDS, type Backend } from "./support/backends.ts";
import { freePort } from "./support/cli.ts";
import { processes } from "./support/harness.ts";
import type { ModelServer } from "./support/model-server.ts";
import { startTelegramServer, type TelegramServer } from "./support/telegram-server.ts";
import { until } from "./support/wait.ts";

const HARNESS = fileURLToPath(new URL("./procs/agentd-channels.ts", import.meta.url));
const SECRET = "crash-secret";
const USER = { id: 701, is_bot: false, first_name: "Ada" };
const REPLY = "Streaming survives a crash: this reply is long enough to be shown in several updates before it ends. "
  .repeat(4)
  .trim();

interface Rig {
  client: Agentd;
  model: ModelServer;
  tg: TelegramServer;
  tenantId: string;
  start(): Promise<ChildProcess>;
  exited(p: ChildProcess): Promise<NodeJS.Signals | null>;
  touch(marker: string): void;
  /** Posts an update as Telegram does; 0 when the connection died. */
  post(update: object): Promise<number>;
  userMessages(): Promise<string[]>;
  /** What the person sees in the chat now, oldest first. */
  chat(): string[];
}

async function rig(t: { after(fn: () => unknown): void }, b: Backend): Promise<Rig> {
  const tg = await startTelegramServer();
  t.after(() => tg.close());
  const port = await freePort();
  const { place, model, env, client, tenantId } = await crashBase(t, b, {
    model: { chunkChars: 4 },
    env: {
      AGENTD_PORT: String(port),
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_WEBHOOK_SECRET: SECRET,
    },
  });
  const { code } = await client.tenants.createPairingCode(tenantId);
  await client.tenants.redeemPairingCode(code, "telegram", String(USER.id));
  return {
    client,
    model,
    tg,
    tenantId,
    ...processes(t, HARNESS, ["start", "--data", place.dataDir], env),
    touch: (marker) => writeFileSync(join(place.dataDir, marker), ""),
    async post(update) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/channels/telegram`, {
          method: "POST",
          body: JSON.stringify(update),
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET },
        });
        await res.arrayBuffer();
        return res.status;
      } catch {
        return 0;
      }
    },
    async userMessages() {
      const scope = client.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      return s ? (await sessions.history(scope, s.id)).filter((m) => m.role === "user").map((m) => m.content) : [];
    },
    chat: () => tg.visible(USER.id).map((m) => m.text),
  };
}

let updateId = 5000;
const update = (text: string) => ({
  update_id: updateId++,
  message: {
    message_id: updateId,
    date: Math.floor(Date.now() / 1000),
    from: USER,
    chat: { id: USER.id, type: "private", first_name: "Ada" },
    text,
  },
});

/** The only turn, finished with `text`, and its delivery recorded; a little settling so a stray send would show. */
async function finished(r: Rig): Promise<string> {
  const run = await until(async () => (await r.client.kernel.listRuns({}))[0], "the turn");
  assert.equal((await r.client.kernel.result<{ text: string }>(run.id)).text, REPLY);
  await until(
    async () =>
      (await outbox.parts(r.client.tenants.scope(r.tenantId), `reply:${run.id}`)).every((p) => p.status === "sent"),
    "the reply recorded as sent",
  );
  await new Promise((res) => setTimeout(res, 300));
  return run.id;
}

for (const b of BACKENDS) {
  describe(`telegram crash: SIGKILL agentd (${b.name})`, () => {
    test("while the reply streams as a draft: after the restart the draft resumes and the chat gets one complete reply", async (t) => {
      const r = await rig(t, b);
      r.model.script({ text: REPLY, tokenDelayMs: 15 }, { text: REPLY, tokenDelayMs: 2 });
      const w1 = await r.start();
      const u = update("tell me something long");
      assert.equal(await r.post(u), 200);
      await until(() => r.tg.callsOf("sendMessageDraft").length >= 2, "the reply streaming as a draft");
      w1.kill("SIGKILL");
      assert.equal(await r.exited(w1), "SIGKILL");
      assert.equal(
        r.tg.callsOf("sendMessage").filter((c) => String(c.params.chat_id) === String(USER.id)).length,
        0,
        "killed before the reply was sent",
      );

      await r.start();
      assert.equal(await r.post(u), 200, "Telegram's redelivery of the update is acknowledged");
      await finished(r);
      assert.deepEqual(r.chat(), [REPLY], "one complete reply");
      assert.equal(r.model.calls, 2, "the interrupted call is made again");
      assert.equal(
        new Set(r.tg.callsOf("sendMessageDraft").map((c) => c.params.draft_id)).size,
        1,
        "the same draft continues across the restart",
      );
      assert.deepEqual(await r.userMessages(), ["tell me something long"]);
      assert.equal((await r.client.kernel.listRuns({})).length, 1, "one turn");
    });

    test("while a placeholder is being edited: the restarted turn edits the same placeholder, sends the reply, and deletes it", async (t) => {
      const r = await rig(t, b);
      r.tg.draftsUnsupported = true;
      // Slow enough for the placeholder (one interval after the refused draft) to be edited before the kill.
      r.model.script({ text: REPLY, tokenDelayMs: 40 }, { text: REPLY, tokenDelayMs: 5 });
      const w1 = await r.start();
      assert.equal(await r.post(update("and again")), 200);
      await until(() => r.tg.callsOf("editMessageText").length >= 1, "the placeholder being edited");
      w1.kill("SIGKILL");
      await r.exited(w1);
      const placeholder = r.tg.visible(USER.id);
      assert.equal(placeholder.length, 1, "a partial placeholder is on screen when the process dies");
      assert.notEqual(placeholder[0]!.text, REPLY);

      await r.start();
      const runId = await finished(r);
      await until(() => r.tg.callsOf("deleteMessage").length === 1, "the placeholder deleted");
      assert.deepEqual(r.chat(), [REPLY], "only the complete reply is left");
      const placeholders = r.tg.callsOf("sendMessage").filter((c) => c.params.disable_notification);
      assert.equal(placeholders.length, 1, "the restarted turn reused the placeholder instead of sending another");
      const edited = new Set(r.tg.callsOf("editMessageText").map((c) => Number(c.params.message_id)));
      assert.deepEqual([...edited], [placeholder[0]!.message_id]);
      assert.equal((await outbox.get(r.client.tenants.scope(r.tenantId), placeholderKey(runId), 0))?.status, "deleted");
    });

    test("inside the webhook, after the update is persisted and before the 200: the redelivery starts no second turn; one reply", async (t) => {
      const r = await rig(t, b);
      r.model.script({ text: REPLY }, { text: REPLY });
      r.touch("kill-after-persist");
      const w1 = await r.start();
      const u = update("are you there?");
      assert.equal(await r.post(u), 0, "no answer: the process died inside the webhook");
      assert.equal(await r.exited(w1), "SIGKILL");
      assert.deepEqual(await r.userMessages(), ["are you there?"], "persisted before the 200 that never came");
      await r.start();
      assert.equal(await r.post(u), 200);
      assert.equal(await r.post(u), 200);
      await finished(r);
      assert.equal((await r.client.kernel.listRuns({})).length, 1, "one turn for the update");
      assert.deepEqual(r.chat(), [REPLY]);
      assert.deepEqual(await r.userMessages(), ["are you there?"]);
    });
  });
}
