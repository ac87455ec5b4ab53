// A webhook channel's health (Twilio here, WhatsApp's Cloud API alike): /health names how it is
// reached and whether its last reply went out; a refused reply makes it down with the provider's
// words (the channel's own keys redacted), the next delivered reply makes it up again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createAgentd } from "../../src/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { startTwilioServer } from "../support/twilio-server.ts";
import { until } from "../support/wait.ts";

test("Twilio's and WhatsApp's health in /health: how each is reached, the last reply delivered or refused", async (t) => {
  const tw = await startTwilioServer();
  t.after(() => tw.close());
  const removals: (() => unknown)[] = [];
  const place = BACKENDS[0]!.place({ after: (fn) => void removals.push(fn) });
  const app = await createAgentd({
    env: {
      AGENTD_PUBLIC_URL: "https://agent.example.test",
      TWILIO_ACCOUNT_SID: tw.accountSid,
      TWILIO_AUTH_TOKEN: tw.authToken,
      TWILIO_SMS_FROM: "+15550009999",
      TWILIO_API_BASE: tw.url,
      WHATSAPP_ACCESS_TOKEN: "EAAG-whatsapp-access-token-0123456789",
      WHATSAPP_APP_SECRET: "whatsapp-app-secret-0123456789",
      WHATSAPP_PHONE_NUMBER_ID: "1234567890",
      WHATSAPP_VERIFY_TOKEN: "whatsapp-verify-token-0123456789",
      WHATSAPP_API_BASE: "http://127.0.0.1:9",
    },
    config: { ...place, adminToken: "admin-test-token", model: { id: "echo" } },
    logger: () => {},
    channelLog: () => {},
  });
  t.after(async () => {
    await app.close();
    for (const remove of removals) await remove();
  });
  await app.start({ channels: false });
  const state = async (name: string) => (await app.health.states()).find((s) => s.name === name);
  assert.deepEqual(await state("twilio"), {
    name: "twilio",
    ok: true,
    detail: "webhook https://agent.example.test/channels/twilio; no reply sent by this process yet",
  });
  assert.match((await state("whatsapp"))?.detail ?? "", /^Cloud API, webhook at \/channels\/whatsapp; no reply sent/);

  const tenant = await app.tenants.create("sms", {});
  // The provider refuses the reply for good (its 400): the channel is down, with why.
  tw.failNext(400);
  const refused = await app.inbox.receive({
    tenantId: tenant.id,
    channel: "sms",
    conversation: "+15550001111",
    text: "hi",
  });
  await until(async () => (await state("twilio"))?.ok === false, "the refused reply to show");
  const down = (await state("twilio"))?.detail ?? "";
  assert.match(down, /^webhook https:\/\/agent\.example\.test\/channels\/twilio; the last reply failed at \d{4}-/);
  assert.match(down, /\(no reply sent by this process yet\)$/);
  assert.ok(!down.includes(tw.authToken), "the auth token is not in /health");
  // The next reply goes through: up again, with when.
  await until(
    async () => ["failed", "completed"].includes((await app.kernel.getRun(refused.runId))?.status ?? ""),
    "the first turn to end",
  );
  const ok = await app.inbox.receive({
    tenantId: tenant.id,
    channel: "sms",
    conversation: "+15550002222",
    text: "hello",
  });
  await until(async () => (await app.kernel.getRun(ok.runId))?.status === "completed", "the second reply");
  assert.equal(tw.calls[0]?.status, 400);
  assert.equal(tw.calls.at(-1)?.status, 201);
  const up = await state("twilio");
  assert.equal(up?.ok, true, up?.detail);
  assert.match(up?.detail ?? "", /; last reply delivered at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
});
