// WhatsApp (through Twilio) on a function: a reply held for WhatsApp's 24-hour window goes out when
// the person writes again, even when the platform stops the instance the moment it has answered.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import twilio from "twilio";
import { createAgentd } from "../../src/app.ts";
import { outbox } from "../../src/channels/outbox.ts";
import { pgUrl } from "../support/backends.ts";
import { startTwilioServer } from "../support/twilio-server.ts";
import { functionRig } from "./rig.ts";
import { FunctionRuntime } from "./simulator.ts";

const WA_FROM = "whatsapp:+15550008888";
const PERSON = "whatsapp:+15550007070";

test("a held WhatsApp reply is sent by the tick after the instance that received the person's message was stopped at its answer", {
  skip: pgUrl ? false : "no Postgres (set DATABASE_URL): agentd as a function runs on Postgres only",
  timeout: 300_000,
}, async (t) => {
  const { env, model } = await functionRig(t);
  const tw = await startTwilioServer();
  t.after(() => tw.close());
  const hook = `${env.AGENTD_PUBLIC_URL}/channels/twilio`;
  const fenv = {
    ...env,
    TWILIO_ACCOUNT_SID: tw.accountSid,
    TWILIO_AUTH_TOKEN: tw.authToken,
    TWILIO_WHATSAPP_FROM: WA_FROM,
    TWILIO_API_BASE: tw.url,
  };
  const rt = new FunctionRuntime({
    env: { ...fenv, SIM_TICK_EVERY_MS: "60000" },
    limitMs: 60_000,
    killChance: 0,
    killWithinMs: 0,
    warmChance: 1,
    random: Math.random,
  });
  t.after(() => rt.close());
  const op = await createAgentd({ env: fenv, worker: false, api: false, channelLog: () => {}, logger: () => {} });
  t.after(() => op.close());

  /** Twilio posting to the function, signed over the URL Twilio was given. */
  const post = (url: string, params: Record<string, string>, opts = {}) =>
    rt.invoke(
      {
        path: new URL(url).pathname.replace(/^\/fn/, ""),
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-twilio-signature": twilio.getExpectedTwilioSignature(tw.authToken, url, params),
          "i-twilio-idempotency-token": randomUUID(),
        },
        body: new URLSearchParams(params).toString(),
      },
      Date.now(),
      opts,
    );
  let n = 0;
  const say = (body: string, opts = {}) => {
    const sid = `SM${(++n).toString(16).padStart(32, "0")}`;
    return post(
      hook,
      {
        AccountSid: tw.accountSid,
        MessageSid: sid,
        SmsMessageSid: sid,
        From: PERSON,
        To: WA_FROM,
        Body: body,
        NumMedia: "0",
      },
      opts,
    );
  };

  const tenant = await op.tenants.create("wa", {});
  const { code } = await op.tenants.createPairingCode(tenant.id);
  assert.equal((await say(`pair ${code}`)).status, 200);
  model.script({ text: "Your late answer." }, { text: "And the new one." });
  assert.equal((await say("answer me later")).status, 200);
  const late = () => tw.messages.filter((m) => m.to === PERSON && m.body === "Your late answer.");
  assert.equal(late().length, 1, "the turn ran in the invocation (waitUntil) and its reply went to Twilio");
  // Twilio reports it undelivered: outside the 24-hour window (63016), so the reply is held.
  const sid = late()[0]!.sid;
  const report = {
    AccountSid: tw.accountSid,
    From: WA_FROM,
    To: PERSON,
    MessageSid: sid,
    SmsSid: sid,
    MessageStatus: "undelivered",
    ErrorCode: "63016",
  };
  assert.equal((await post(`${hook}/status`, report)).status, 200);
  const scope = op.tenants.scope(tenant.id);
  const [run] = await op.kernel.listRuns({ workflow: "agent.turn" });
  assert.equal((await outbox.get(scope, `reply:${run!.id}`, 0))?.status, "held");

  // The person writes again; the function answers and is stopped at once, while Twilio does not answer.
  tw.stalled = true;
  const rec = await say("hello again", { killAfterAnswer: true });
  assert.equal([rec.status, rec.killed].join(" "), "200 answered");
  tw.stalled = false;
  // The next invocation (a fresh instance) is the cron's tick a minute later, when what the stopped
  // instance had claimed is free again (its lease ran out).
  const tick = await rt.invoke(
    { path: "/tick", headers: { authorization: `Bearer ${env.AGENTD_TICK_SECRET}` } },
    Date.now() + 60_000,
  );
  assert.equal(tick.status, 200, tick.body ?? "");
  assert.equal(late().length, 2, "the held reply was sent again, once");
  assert.equal(tw.messages.filter((m) => m.to === PERSON && m.body === "And the new one.").length, 1);
  assert.equal((await outbox.get(scope, `reply:${run!.id}`, 0))?.status, "sent");
  assert.equal(model.calls, 2, "the model was not asked again for the held reply");
});
