/**
 * Crash tests of the WhatsApp Cloud API channel: a real `agentd start` (procs/agentd-channels.ts)
 * talking to the Graph API stand-in is SIGKILLed while a webhook is being handled (after the
 * message is persisted, before the 200) and while a reply is being sent (inside the Graph API call:
 * Meta accepted the message, agentd never heard; between the parts of a long reply), then started
 * again. Meta's side is played by the stand-in and the test: a webhook that got no 200 is delivered
 * again, and status reports are retried until agentd answers. After the restart the person has
 * exactly one complete reply for each message, none lost, and no message started two turns.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { outbox } from "../src/channels/outbox.ts";
import { splitText } from "../src/channels/split-text.ts";
import { WHATSAPP_CLOUD, WHATSAPP_MAX_TEXT } from "../src/channels/whatsapp/index.ts";
import { sessions } from "../src/sessions/store.ts";
import { crashBase } from "./support/crash-rig.ts";
import { BACKENDS, type Backend } from "./support/backends.ts";
import { type ChannelCrashRig, finished as finishedWith, killedAfterPersist } from "./support/channel-crash.ts";
import { freePort } from "./support/cli.ts";
import { processes } from "./support/harness.ts";
import { messagePayload, postSigned, startWhatsAppServer, type WhatsAppServer } from "./support/whatsapp-server.ts";

const HARNESS = fileURLToPath(new URL("./procs/agentd-channels.ts", import.meta.url));
const USER = "15557770001";

interface Rig extends ChannelCrashRig<unknown> {
  wa: WhatsAppServer;
}

async function rig(t: { after(fn: () => unknown): void }, b: Backend): Promise<Rig> {
  const wa = await startWhatsAppServer();
  t.after(() => wa.close());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/channels/whatsapp`;
  wa.webhookUrl = url;
  wa.autoSent = true;
  const { place, model, env, client, tenantId } = await crashBase(t, b, {
    env: {
      AGENTD_PORT: String(port),
      WHATSAPP_ACCESS_TOKEN: wa.token,
      WHATSAPP_APP_SECRET: wa.appSecret,
      WHATSAPP_PHONE_NUMBER_ID: wa.phoneNumberId,
      WHATSAPP_VERIFY_TOKEN: "v",
      WHATSAPP_API_BASE: wa.url,
    },
  });
  const { code } = await client.tenants.createPairingCode(tenantId);
  await client.tenants.redeemPairingCode(code, WHATSAPP_CLOUD, USER);
  return {
    client,
    model,
    wa,
    tenantId,
    ...processes(t, HARNESS, ["start", "--data", place.dataDir], env),
    touch: (marker) => writeFileSync(join(place.dataDir, marker), ""),
    post: (payload) => postSigned(url, wa.appSecret, payload).catch(() => 0),
    got: () => wa.messages.filter((m) => m.to === USER).map((m) => m.text),
    async userMessages() {
      const scope = client.tenants.scope(tenantId);
      const s = await sessions.latest(scope);
      return s ? (await sessions.history(scope, s.id)).filter((m) => m.role === "user") : [];
    },
  };
}

const finished = (r: Rig, text: string) => finishedWith(r, text, WHATSAPP_MAX_TEXT);

/** Starts agentd, to be SIGKILLed inside the Graph API call that sends `text` (once Meta has recorded the message). */
async function killedWhenSent(r: Rig, text: string): Promise<ChildProcess> {
  let p: ChildProcess | null = null;
  r.wa.intercept = (call) => {
    if ((call.body.text as { body?: string } | undefined)?.body === text && p) {
      p.kill("SIGKILL");
      p = null;
    }
  };
  p = await r.start();
  return p;
}

for (const b of BACKENDS) {
  describe(`whatsapp crash: SIGKILL agentd (${b.name})`, () => {
    test("inside the webhook after the message is persisted, before the 200: Meta's redelivery starts no second turn; one reply", async (t) => {
      const r = await rig(t, b);
      const body = messagePayload(r.wa.phoneNumberId, USER, { type: "text", text: { body: "are you there?" } });
      await killedAfterPersist(r, body, "are you there?", (text) => finished(r, text));
    });

    test("inside the Graph API call for the reply (Meta accepted it, agentd never heard): Meta's status report claims it after restart; not sent again", async (t) => {
      const r = await rig(t, b);
      r.model.script({ text: "Sent exactly once." });
      const w1p = await killedWhenSent(r, "Sent exactly once.");
      assert.equal(
        await r.post(messagePayload(r.wa.phoneNumberId, USER, { type: "text", text: { body: "hello" } })),
        200,
      );
      assert.equal(await r.exited(w1p), "SIGKILL");
      assert.deepEqual(r.got(), ["Sent exactly once."], "Meta has it; agentd died before its answer");
      await r.start();
      const runId = await finished(r, "Sent exactly once.");
      assert.deepEqual(r.got(), ["Sent exactly once."], "claimed by Meta's report, not sent again");
      const row = await outbox.get(r.client.tenants.scope(r.tenantId), `reply:${runId}`, 0);
      assert.equal(row?.externalId, r.wa.messages.find((m) => m.to === USER)!.id);
    });

    test("between the parts of a long reply: after restart each part reaches the person exactly once, in order", async (t) => {
      const r = await rig(t, b);
      const text = Array.from(
        { length: 200 },
        (_, i) => `Line ${i} of a reply that needs several WhatsApp messages.`,
      ).join(" ");
      const parts = splitText(text, WHATSAPP_MAX_TEXT);
      assert.ok(parts.length >= 3);
      r.model.script({ text });
      const w1p = await killedWhenSent(r, parts[1] as string);
      assert.equal(
        await r.post(messagePayload(r.wa.phoneNumberId, USER, { type: "text", text: { body: "tell me everything" } })),
        200,
      );
      assert.equal(await r.exited(w1p), "SIGKILL");
      assert.deepEqual(r.got(), parts.slice(0, 2));
      await r.start();
      await finished(r, text);
      assert.deepEqual(r.got(), parts);
    });
  });
}
