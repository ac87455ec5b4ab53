/**
 * Crash tests of the Twilio channel: a real `agentd start` (procs/agentd-channels.ts) talking to the
 * Twilio stand-in is SIGKILLed while a webhook is being handled (after the message is persisted,
 * before the 200; inside a media download, before anything is persisted) and while a reply is being
 * sent (inside the Messages API call: Twilio accepted the message, agentd never heard; between the
 * parts of a long reply), then started again. Twilio's side is played by the test: it redelivers a
 * webhook that got no 200, like Twilio does. After the restart the user has exactly one complete
 * reply for each message, none lost, and no message started two turns.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import twilio from "twilio";
import { outbox } from "../src/channels/outbox.ts";
import { LIMITS, splitText } from "../src/channels/twilio/index.ts";
import { sessions } from "../src/sessions/store.ts";
import { crashBase } from "./support/crash-rig.ts";
import { BACKENDS, type Backend } from "./support/backends.ts";
import { type ChannelCrashRig, finished as finishedWith, killedAfterPersist } from "./support/channel-crash.ts";
import { freePort } from "./support/cli.ts";
import { processes } from "./support/harness.ts";
import { type TwilioServer, startTwilioServer } from "./support/twilio-server.ts";

const HARNESS = fileURLToPath(new URL("./procs/agentd-channels.ts", import.meta.url));
const USER = "+15557770001";
const FROM = "+15550000000";

interface Rig extends ChannelCrashRig<Record<string, string>> {
  tw: TwilioServer;
  message(sid: string, body: string, extra?: Record<string, string>): Record<string, string>;
}

async function rig(t: { after(fn: () => unknown): void }, b: Backend): Promise<Rig> {
  const tw = await startTwilioServer();
  t.after(() => tw.close());
  const port = await freePort();
  const publicBase = `http://127.0.0.1:${port}`;
  const { place, model, env, client, tenantId } = await crashBase(t, b, {
    env: {
      AGENTD_PORT: String(port),
      AGENTD_PUBLIC_URL: publicBase,
      TWILIO_ACCOUNT_SID: tw.accountSid,
      TWILIO_AUTH_TOKEN: tw.authToken,
      TWILIO_SMS_FROM: FROM,
      TWILIO_API_BASE: tw.url,
    },
  });
  const { code } = await client.tenants.createPairingCode(tenantId);
  await client.tenants.redeemPairingCode(code, "sms", USER);
  const url = `${publicBase}/channels/twilio`;
  return {
    client,
    model,
    tw,
    tenantId,
    ...processes(t, HARNESS, ["start", "--data", place.dataDir], env),
    touch: (marker) => writeFileSync(join(place.dataDir, marker), ""),
    async post(params) {
      try {
        const res = await fetch(url, {
          method: "POST",
          body: new URLSearchParams(params).toString(),
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": twilio.getExpectedTwilioSignature(tw.authToken, url, params),
          },
        });
        await res.arrayBuffer();
        return res.status;
      } catch {
        return 0;
      }
    },
    message: (sid, body, extra = {}) => ({
      AccountSid: tw.accountSid,
      From: USER,
      To: FROM,
      Body: body,
      MessageSid: sid,
      SmsMessageSid: sid,
      NumMedia: "0",
      ...extra,
    }),
    got: () => tw.messages.filter((m) => m.to === USER).map((m) => m.body),
    async userMessages() {
      const scope = client.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      return s ? (await sessions.history(scope, s.id)).filter((m) => m.role === "user") : [];
    },
  };
}

const finished = (r: Rig, text: string) => finishedWith(r, text, LIMITS.sms);

for (const b of BACKENDS) {
  describe(`twilio crash: SIGKILL agentd (${b.name})`, () => {
    test("inside the webhook after the message is persisted, before the 200: Twilio's redelivery starts no second turn; one reply", async (t) => {
      const r = await rig(t, b);
      const msg = r.message("SM00000000000000000000000000000001", "are you there?");
      await killedAfterPersist(r, msg, "are you there?", (text) => finished(r, text));
    });

    test("inside a media download, before anything is persisted: the redelivery is handled in full; one message with its attachment, one reply", async (t) => {
      const r = await rig(t, b);
      r.model.script({ text: "Got your photo." });
      const url = r.tw.addMedia(new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]), "image/jpeg");
      let w1: ChildProcess | null = null;
      r.tw.intercept = (call) => {
        if (call.path.includes("/Media/") && w1) {
          w1.kill("SIGKILL");
          w1 = null;
        }
      };
      w1 = await r.start();
      const w1p = w1;
      const msg = r.message("SM00000000000000000000000000000002", "a photo", {
        NumMedia: "1",
        MediaUrl0: url,
        MediaContentType0: "image/jpeg",
      });
      assert.equal(await r.post(msg), 0);
      assert.equal(await r.exited(w1p), "SIGKILL");
      assert.deepEqual(await r.userMessages(), [], "nothing was kept of a webhook that was not acknowledged");
      await r.start();
      assert.equal(await r.post(msg), 200);
      await finished(r, "Got your photo.");
      const [m] = await r.userMessages();
      assert.equal(m?.attachments?.length, 1);
      assert.deepEqual(r.got(), ["Got your photo."]);
    });

    test("inside the Messages API call for the reply (Twilio accepted it, agentd never heard): not sent again after restart; its status callback lands", async (t) => {
      const r = await rig(t, b);
      r.model.script({ text: "Sent exactly once." });
      let w1: ChildProcess | null = null;
      r.tw.intercept = (call) => {
        if (call.form.Body === "Sent exactly once." && w1) {
          w1.kill("SIGKILL");
          w1 = null;
        }
      };
      w1 = await r.start();
      const w1p = w1;
      assert.equal(await r.post(r.message("SM00000000000000000000000000000003", "hello")), 200);
      assert.equal(await r.exited(w1p), "SIGKILL");
      assert.deepEqual(r.got(), ["Sent exactly once."], "Twilio has it; agentd died before its answer");
      await r.start();
      const runId = await finished(r, "Sent exactly once.");
      assert.deepEqual(r.got(), ["Sent exactly once."], "found in the message log, not sent again");
      const sid = r.tw.messages.find((m) => m.to === USER)!.sid;
      const scope = r.client.tenants.scope(r.tenantId);
      assert.equal((await outbox.get(scope, `reply:${runId}`, 0))?.externalId, sid);
      assert.equal(await r.tw.report(sid, "delivered"), 200);
      assert.equal((await outbox.get(scope, `reply:${runId}`, 0))?.status, "delivered");
    });

    test("between the parts of a long reply: after restart each part reaches the user exactly once, in order", async (t) => {
      const r = await rig(t, b);
      const text = Array.from({ length: 70 }, (_, i) => `Line ${i} of a reply that needs several text messages.`).join(
        " ",
      );
      const parts = splitText(text, LIMITS.sms);
      assert.ok(parts.length >= 3);
      r.model.script({ text });
      let w1: ChildProcess | null = null;
      r.tw.intercept = (call) => {
        if (call.form.Body === parts[1] && w1) {
          w1.kill("SIGKILL");
          w1 = null;
        }
      };
      w1 = await r.start();
      const w1p = w1;
      assert.equal(await r.post(r.message("SM00000000000000000000000000000004", "tell me everything")), 200);
      assert.equal(await r.exited(w1p), "SIGKILL");
      assert.deepEqual(r.got(), parts.slice(0, 2));
      await r.start();
      await finished(r, text);
      assert.deepEqual(r.got(), parts);
    });
  });
}
