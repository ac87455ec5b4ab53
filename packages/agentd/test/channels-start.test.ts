import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { randomBytes } from "node:crypto";
import { UNPAIRED_REPLY } from "../src/sessions/inbox.ts";
import { pgUrl, postgres } from "./support/backends.ts";
import { cleanEnv, freePort, MAIN, tempDir } from "./support/cli.ts";
import twilio from "twilio";
import { startTelegramServer } from "./support/telegram-server.ts";
import { startTwilioServer } from "./support/twilio-server.ts";
import { messagePayload, postSigned, startWhatsAppServer } from "./support/whatsapp-server.ts";
import { until } from "./support/wait.ts";

/** `agentd start` with its environment; resolves with the ready line; killed after the test. */
function start(
  t: { after(fn: () => unknown): void },
  env: NodeJS.ProcessEnv,
  stderr: { text: string } = { text: "" },
): Promise<string> {
  const child = spawn(process.execPath, [MAIN, "start", "--data", tempDir(t)], { env });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  child.stderr.on("data", (d) => (stderr.text += d));
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("agentd ready"));
      if (line) resolve(line);
    });
    child.on("exit", (code) => reject(new Error(`agentd exited ${code}: ${stderr.text}`)));
  });
}

test("agentd start with TELEGRAM_BOT_TOKEN polls Telegram and answers an unknown user with pairing instructions", async (t) => {
  const tg = await startTelegramServer();
  t.after(() => tg.close());
  const line = await start(
    t,
    cleanEnv({ AGENTD_PORT: String(await freePort()), TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRoot }),
  );
  assert.match(line, /; channels: telegram \(long polling\)$/);
  tg.push({
    message: {
      message_id: 1,
      date: 1,
      chat: { id: 99, type: "private" },
      from: { id: 99, is_bot: false, first_name: "Eve" },
      text: "hello?",
    },
  });
  const sent = await until(() => [...tg.messages.values()].find((m) => m.chat_id === "99"));
  assert.equal(sent.text, UNPAIRED_REPLY);
});

test("two agentd processes on one Postgres: only the poller lock's holder polls the deployment's bot (no 409s), and each message is answered once", {
  skip: pgUrl ? false : "no Postgres",
}, async (t) => {
  const tg = await startTelegramServer();
  t.after(() => tg.close());
  const place = postgres.place(t);
  const env = (port: number) =>
    cleanEnv({
      AGENTD_PORT: String(port),
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      DATABASE_URL: place.databaseUrl as string,
      AGENTD_PG_SCHEMA: place.pgSchema as string,
      AGENTD_MASTER_KEY: randomBytes(32).toString("base64"),
      TELEGRAM_BOTS_RESCAN_MS: "200",
    });
  await start(t, env(await freePort()));
  await start(t, env(await freePort()));
  await new Promise((r) => setTimeout(r, 1500)); // several rescans of both processes
  for (let i = 0; i < 3; i++)
    tg.push({
      message: {
        message_id: i + 1,
        date: 1,
        chat: { id: 90 + i, type: "private" },
        from: { id: 90 + i, is_bot: false, first_name: "Eve" },
        text: "hello?",
      },
    });
  for (let i = 0; i < 3; i++)
    await until(() => [...tg.messages.values()].find((m) => m.chat_id === String(90 + i)), `the answer to ${90 + i}`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(tg.conflicts, 0, "never two getUpdates callers at once");
  for (let i = 0; i < 3; i++)
    assert.equal([...tg.messages.values()].filter((m) => m.chat_id === String(90 + i)).length, 1);
});

test("with TELEGRAM_WEBHOOK_SECRET the webhook is served at /channels/telegram and refuses calls without the secret", async (t) => {
  const tg = await startTelegramServer();
  t.after(() => tg.close());
  const port = await freePort();
  const line = await start(
    t,
    cleanEnv({
      AGENTD_PORT: String(port),
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_WEBHOOK_SECRET: "s3cret-token",
    }),
  );
  assert.match(line, /channels: telegram \(webhook at \/channels\/telegram\)/);
  const update = {
    update_id: 10,
    message: {
      message_id: 1,
      date: 1,
      chat: { id: 98, type: "private" },
      from: { id: 98, is_bot: false, first_name: "Mal" },
      text: "hi",
    },
  };
  const post = (secret?: string) =>
    fetch(`http://127.0.0.1:${port}/channels/telegram`, {
      method: "POST",
      body: JSON.stringify(update),
      headers: { "content-type": "application/json", ...(secret ? { "x-telegram-bot-api-secret-token": secret } : {}) },
    });
  assert.equal((await post()).status, 401);
  assert.equal((await post("wrong")).status, 401);
  assert.equal(tg.callsOf("sendMessage").length, 0, "a refused call is never processed");
  assert.equal((await post("s3cret-token")).status, 200);
  assert.equal(tg.callsOf("sendMessage").length, 1);
});

test("with TELEGRAM_WEBHOOK_SECRET and AGENTD_PUBLIC_URL, agentd points the bot's webhook at itself and says so", async (t) => {
  const tg = await startTelegramServer();
  t.after(() => tg.close());
  const stderr = { text: "" };
  const env = {
    AGENTD_PORT: String(await freePort()),
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_ROOT: tg.apiRoot,
    TELEGRAM_WEBHOOK_SECRET: "s3cret-token",
  };
  const line = await start(t, cleanEnv({ ...env, AGENTD_PUBLIC_URL: "https://agentd.example.test/" }), stderr);
  assert.match(line, /channels: telegram \(webhook https:\/\/agentd\.example\.test\/channels\/telegram\)/);
  const set = await until(() => tg.callsOf("setWebhook")[0], "setWebhook");
  assert.equal(set.params.url, "https://agentd.example.test/channels/telegram");
  assert.equal(set.params.secret_token, "s3cret-token");
  assert.deepEqual(set.params.allowed_updates, ["message", "callback_query"]);
  await until(
    () =>
      stderr.text.includes(
        "agentd: telegram: webhook set: Telegram calls https://agentd.example.test/channels/telegram",
      ),
    "the log line",
  );
  assert.ok(!stderr.text.includes(tg.token), "the token is never logged");

  // Without a public URL it cannot: it says what to do instead.
  const alone = { text: "" };
  await start(t, cleanEnv({ ...env, AGENTD_PORT: String(await freePort()) }), alone);
  await until(() => alone.text.includes("TELEGRAM_WEBHOOK_SECRET is set but AGENTD_PUBLIC_URL is not"), "the hint");
  assert.equal(tg.callsOf("setWebhook").length, 1);
});

test("agentd doctor checks the Telegram bot token with getMe", async (t) => {
  const tg = await startTelegramServer();
  t.after(() => tg.close());
  const doctor = (token: string) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN, "doctor", "--data", tempDir(t)], {
        env: cleanEnv({ TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: tg.apiRoot }),
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("exit", (code) => resolve({ code, out }));
    });
  assert.match((await doctor(tg.token)).out, /^ok {2}\s*telegram\s+bot @agentd_test_bot, long polling$/m);
  const bad = await doctor("1:wrong");
  assert.match(
    bad.out,
    /^FAIL\s+telegram\s+Telegram refused TELEGRAM_BOT_TOKEN \(HTTP 401\): copy the token again from @BotFather$/m,
  );
  assert.equal(bad.code, 1);
});

test("agentd start with Twilio settings serves the signed webhook at /channels/twilio and answers through the Messages API", async (t) => {
  const tw = await startTwilioServer();
  t.after(() => tw.close());
  const port = await freePort();
  const publicBase = `http://127.0.0.1:${port}`;
  const line = await start(
    t,
    cleanEnv({
      AGENTD_PORT: String(port),
      AGENTD_PUBLIC_URL: publicBase,
      TWILIO_ACCOUNT_SID: tw.accountSid,
      TWILIO_AUTH_TOKEN: tw.authToken,
      TWILIO_SMS_FROM: "+15550000000",
      TWILIO_API_BASE: tw.url,
    }),
  );
  assert.match(line, /channels: twilio \(webhook http:\/\/127\.0\.0\.1:\d+\/channels\/twilio\)/);
  const url = `${publicBase}/channels/twilio`;
  const params = {
    AccountSid: tw.accountSid,
    From: "+15551230000",
    To: "+15550000000",
    Body: "hello",
    MessageSid: "SM0001",
    SmsMessageSid: "SM0001",
    NumMedia: "0",
  };
  const post = (signature: string) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
      body: new URLSearchParams(params).toString(),
    });
  assert.equal((await post("forged=")).status, 403);
  assert.equal(tw.messages.length, 0);
  assert.equal((await post(twilio.getExpectedTwilioSignature(tw.authToken, url, params))).status, 200);
  const sent = await until(() => tw.messages.find((m) => m.to === "+15551230000"));
  assert.equal(sent.body, UNPAIRED_REPLY);
});

test("agentd start with WhatsApp Cloud API settings serves the signed webhook at /channels/whatsapp and answers through the Graph API", async (t) => {
  const wa = await startWhatsAppServer();
  t.after(() => wa.close());
  const port = await freePort();
  const env = {
    AGENTD_PORT: String(port),
    WHATSAPP_ACCESS_TOKEN: wa.token,
    WHATSAPP_APP_SECRET: wa.appSecret,
    WHATSAPP_PHONE_NUMBER_ID: wa.phoneNumberId,
    WHATSAPP_VERIFY_TOKEN: "hello-meta",
    WHATSAPP_API_BASE: wa.url,
  };
  const line = await start(t, cleanEnv(env));
  assert.match(line, /channels: whatsapp cloud api \(webhook at \/channels\/whatsapp\)/);
  const url = `http://127.0.0.1:${port}/channels/whatsapp`;
  const verify = await fetch(`${url}?hub.mode=subscribe&hub.verify_token=hello-meta&hub.challenge=31337`);
  assert.deepEqual([verify.status, await verify.text()], [200, "31337"]);
  const payload = messagePayload(wa.phoneNumberId, "15551230000", { type: "text", text: { body: "hello" } });
  assert.equal(await postSigned(url, "not-the-secret", payload), 401);
  assert.equal(wa.messages.length, 0);
  assert.equal(await postSigned(url, wa.appSecret, payload), 200);
  const sent = await until(() => wa.messages.find((m) => m.to === "15551230000"));
  assert.equal(sent.text, UNPAIRED_REPLY);
  const huge = await fetch(url, {
    method: "POST",
    body: "x".repeat(2_000_000),
    headers: { "content-type": "application/json", "x-hub-signature-256": "sha256=00" },
  });
  assert.equal(huge.status, 413);
  assert.match(await huge.text(), /over \d+ bytes/);

  const { WHATSAPP_VERIFY_TOKEN: _, ...incomplete } = env;
  const child = spawn(process.execPath, [MAIN, "start", "--data", tempDir(t)], {
    env: cleanEnv({ ...incomplete, AGENTD_PORT: String(await freePort()) }),
  });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise((r) => child.on("exit", r));
  assert.equal(code, 1);
  assert.match(err, /WHATSAPP_ACCESS_TOKEN is set but WHATSAPP_VERIFY_TOKEN is not/);
});

test("agentd doctor checks Twilio's account and the WhatsApp phone number with their credentials", async (t) => {
  const tw = await startTwilioServer();
  t.after(() => tw.close());
  const wa = await startWhatsAppServer();
  t.after(() => wa.close());
  const doctor = (env: Record<string, string>) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN, "doctor", "--data", tempDir(t)], { env: cleanEnv(env) });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("exit", (code) => resolve({ code, out }));
    });
  const good = {
    TWILIO_ACCOUNT_SID: tw.accountSid,
    TWILIO_AUTH_TOKEN: tw.authToken,
    TWILIO_API_BASE: tw.url,
    WHATSAPP_ACCESS_TOKEN: wa.token,
    WHATSAPP_APP_SECRET: wa.appSecret,
    WHATSAPP_PHONE_NUMBER_ID: wa.phoneNumberId,
    WHATSAPP_VERIFY_TOKEN: "v",
    WHATSAPP_API_BASE: wa.url,
  };
  const ok = await doctor(good);
  assert.match(ok.out, /^ok {2}\s*twilio\s+account agentd test account$/m);
  assert.match(ok.out, /^ok {2}\s*whatsapp\s+agentd test \(\+1 555-078-3881\), webhook at \/channels\/whatsapp$/m);
  const bad = await doctor({ ...good, TWILIO_AUTH_TOKEN: "wrong", WHATSAPP_ACCESS_TOKEN: "wrong" });
  assert.match(bad.out, /^FAIL\s+twilio\s+Twilio refused TWILIO_ACCOUNT_SID \/ TWILIO_AUTH_TOKEN \(HTTP 401\)/m);
  assert.match(bad.out, /^FAIL\s+whatsapp\s+Meta refused WHATSAPP_ACCESS_TOKEN/m);
  assert.ok(!bad.out.includes(wa.token) && !ok.out.includes(wa.token), "the token is never printed");
  assert.equal(bad.code, 1);
});
