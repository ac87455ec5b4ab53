/**
 * A voice note and a crash: a real `agentd start` (procs/agentd-channels.ts) with the Telegram and
 * audio stand-ins is SIGKILLed right after the transcript is kept and before the message is stored;
 * Telegram delivers the update again to the restarted process, which finds the transcript by the
 * audio's hash: one upload (one payment), one message, one turn, one reply.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createAgentd } from "../../src/app.ts";
import { sessions } from "../../src/sessions/store.ts";
import { speak, startAudioServer } from "../support/audio-server.ts";
import { BACKENDS } from "../support/backends.ts";
import { cleanEnv, freePort } from "../support/cli.ts";
import { processes } from "../support/harness.ts";
import { startModelServer } from "../support/model-server.ts";
import { startTelegramServer } from "../support/telegram-server.ts";
import { until } from "../support/wait.ts";
import { lastUserText } from "./support.ts";

const HARNESS = fileURLToPath(new URL("../procs/agentd-channels.ts", import.meta.url));
const SECRET = "voice-crash-secret";
const USER = { id: 703, is_bot: false, first_name: "Vera" };

for (const b of BACKENDS) {
  describe(`voice note crash: SIGKILL agentd (${b.name})`, () => {
    test("killed after the transcript is kept: the redelivery transcribes nothing again and gets one reply", async (t) => {
      const place = b.place(t);
      const model = await startModelServer();
      t.after(() => model.close());
      const tg = await startTelegramServer();
      t.after(() => tg.close());
      const audio = await startAudioServer();
      t.after(() => audio.close());
      const port = await freePort();
      const env = cleanEnv({
        AGENTD_PORT: String(port),
        TELEGRAM_BOT_TOKEN: tg.token,
        TELEGRAM_API_ROOT: tg.apiRoot,
        TELEGRAM_WEBHOOK_SECRET: SECRET,
        AGENTD_MODEL_BASE_URL: model.url,
        AGENTD_MODEL: "stand-in",
        AGENTD_MODEL_API_KEY: "k",
        AGENTD_TRANSCRIPTION_BASE_URL: audio.url,
        AGENTD_TRANSCRIPTION_MODEL: "whisper-stand-in",
        AGENTD_TRANSCRIPTION_API_KEY: audio.apiKey,
        DATABASE_URL: place.databaseUrl ?? "",
        AGENTD_PG_SCHEMA: place.pgSchema ?? "",
        CRASH_DIR: place.dataDir,
        AGENTD_LEASE_MS: "1500",
      });
      const client = await createAgentd({
        env: {},
        config: { ...place, model: { id: "stand-in", baseURL: model.url, apiKey: "k" } },
        worker: false,
        logger: () => {},
      });
      t.after(() => client.close());
      const tenantId = (await client.tenants.create("voice-crash")).id;
      const { code } = await client.tenants.createPairingCode(tenantId);
      await client.tenants.redeemPairingCode(code, "telegram", String(USER.id));
      const { start, exited } = processes(t, HARNESS, ["start", "--data", place.dataDir], env);
      const post = async (update: object) => {
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
      };
      const userMessages = async () => {
        const scope = client.tenants.scope(tenantId);
        const s = await sessions.latest(scope);
        return s ? (await sessions.history(scope, s.id)).filter((m) => m.role === "user") : [];
      };

      const note = await speak("call the plumber at nine", "opus");
      audio.knows(note, "Call the plumber at nine.");
      const file = tg.addFile(note, { extension: "oga" });
      const update = {
        update_id: 9001,
        message: {
          message_id: 9001,
          date: Math.floor(Date.now() / 1000),
          from: USER,
          chat: { id: USER.id, type: "private", first_name: USER.first_name },
          voice: { ...file, duration: 2, mime_type: "audio/ogg" },
        },
      };
      model.script({ text: "I will remind you to call the plumber." });
      writeFileSync(join(place.dataDir, "kill-after-transcript"), "");
      const w1 = await start();
      assert.equal(await post(update), 0, "no answer: the process died inside the webhook");
      assert.equal(await exited(w1), "SIGKILL");
      assert.equal(audio.uploads.length, 1, "transcribed (paid) once before the kill");
      assert.equal((await userMessages()).length, 0, "killed before the message was stored");

      await start();
      assert.equal(await post(update), 200, "the redelivery is acknowledged");
      await until(
        () => tg.visible(USER.id).find((m) => m.text === "I will remind you to call the plumber."),
        "the reply after the restart",
      );
      assert.equal(audio.uploads.length, 1, "not transcribed (nor paid for) a second time");
      const [m] = await userMessages();
      assert.equal(m?.attachments?.[0]?.text?.content, "Call the plumber at nine.");
      assert.match(
        lastUserText(model.requests.at(-1)!.body),
        /<transcript of="[^"]+">\nCall the plumber at nine\.\n<\/transcript>/,
      );
      assert.equal(model.calls, 1);
      assert.equal(await post(update), 200);
      assert.equal((await client.kernel.listRuns({})).length, 1, "one turn");
    });
  });
}
