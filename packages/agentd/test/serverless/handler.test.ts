import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { promisify } from "node:util";
import { FakeClock, type LogRecord } from "@agentd/kernel";
import { createAgentdHandler, SQLITE_REFUSED, type TickReport } from "../../src/serverless/index.ts";
import { pgUrl, sqlite } from "../support/backends.ts";
import { sentTo } from "../support/telegram-rig.ts";
import { textUpdate } from "../support/telegram-updates.ts";
import { ADMIN_TOKEN, functionRig, TICK_SECRET, tickRequest, webhookRequest } from "./rig.ts";

const BASE = "http://fn.test";
const ALICE = { id: 4201, is_bot: false, first_name: "Alice", username: "alice" };
const skip = pgUrl ? false : "no Postgres (set DATABASE_URL): agentd as a function runs on Postgres only";

/** A handler on the rig's environment, closed after the test; its log lines kept. */
function handlerOf(t: { after(fn: () => unknown): void }, env: Record<string, string>, more = {}) {
  const logs: LogRecord[] = [];
  const h = createAgentdHandler({ env, logger: (r) => logs.push(r), channelLog: () => {}, ...more });
  t.after(() => h.close());
  return { h, logs };
}

/** Alice paired with a fresh tenant through the webhook (the pairing reply is sent inside the webhook). */
async function paired(h: ReturnType<typeof createAgentdHandler>, settings = {}) {
  const app = await h.app();
  const tenant = await app.tenants.create("fn", settings);
  const { code } = await app.tenants.createPairingCode(tenant.id);
  assert.equal((await h(webhookRequest(BASE, textUpdate(ALICE, `/start ${code}`)))).status, 200);
  return { app, tenantId: tenant.id };
}

test("SQLite is refused with the README's sentence, and a function without its own master key is refused", async (t) => {
  const { env } = await functionRig(t, sqlite);
  const { h, logs } = handlerOf(t, env);
  const res = await h(new Request(`${BASE}/health`));
  assert.equal(res.status, 503);
  assert.match(((await res.json()) as { message: string }).message, /its log says why/);
  assert.ok(
    logs.some((l) => l.msg.includes(SQLITE_REFUSED)),
    "the log says why, in the README's words",
  );
  const readme = readFileSync(new URL("../../../../README.md", import.meta.url), "utf8").replace(/\s+/g, " ");
  assert.ok(readme.includes(SQLITE_REFUSED), 'the README\'s "deploy without a server" says it in the same words');
  const { env: pg } = await functionRig(t, sqlite);
  const { h: h2, logs: logs2 } = handlerOf(t, {
    ...pg,
    DATABASE_URL: "postgres://127.0.0.1:1/none",
    AGENTD_MASTER_KEY: "",
  });
  assert.equal((await h2(new Request(`${BASE}/health`))).status, 503);
  assert.match(logs2.map((l) => l.msg).join("\n"), /set AGENTD_MASTER_KEY .* lost with it/);
});

test("a webhook persists and answers; without waitUntil its turn runs on the next tick, which needs the secret", {
  skip,
}, async (t) => {
  const { env, tg, model } = await functionRig(t);
  const { h } = handlerOf(t, env);
  const { app } = await paired(h);
  model.script({ text: "Hello from a function." });
  const res = await h(webhookRequest(BASE, textUpdate(ALICE, "hi")));
  assert.equal(res.status, 200);
  const [run] = await app.kernel.listRuns({});
  assert.ok(run, "the turn is stored before the answer");
  assert.equal(run.status, "pending", "and not run: nothing runs after the answer without waitUntil");
  assert.equal(model.calls, 0);

  assert.equal((await h(tickRequest(BASE, "wrong-secret-0123456789"))).status, 401);
  assert.equal((await h(new Request(`${BASE}/tick`, { method: "POST" }))).status, 401);
  const tick = await h(tickRequest(BASE));
  assert.equal(tick.status, 200);
  const report = (await tick.json()) as TickReport;
  assert.equal(report.drain?.finished, 1);
  assert.equal(report.missed, 0);
  assert.deepEqual(report.webhooks, ["telegram: webhook set to http://127.0.0.1:9/fn/channels/telegram"]);
  assert.deepEqual(tg.webhook, { url: "http://127.0.0.1:9/fn/channels/telegram", secret_token: "hook-secret-fn" });
  assert.equal((await app.kernel.getRun(run.id))?.status, "completed");
  assert.deepEqual(
    sentTo(tg, ALICE.id)
      .map((c) => c.params.text)
      .slice(-1),
    ["Hello from a function."],
  );
  const again = (await (await h(tickRequest(BASE))).json()) as TickReport;
  assert.deepEqual(again.webhooks, [], "setWebhook once per instance");
  assert.equal(model.calls, 1);
});

test("with waitUntil the turn runs in the same invocation, after the answer; the API and the dashboard are served under a base path", {
  skip,
}, async (t) => {
  const { env, tg, model } = await functionRig(t);
  const kept: Promise<unknown>[] = [];
  const { h } = handlerOf(t, env, { basePath: "/api" });
  const app = await h.app();
  const tenant = await app.tenants.create("fn", {});
  const { code } = await app.tenants.createPairingCode(tenant.id);
  assert.equal((await h(webhookRequest(`${BASE}/api`, textUpdate(ALICE, `/start ${code}`)))).status, 200);
  model.script({ text: "Answered at once." });
  const res = await h(webhookRequest(`${BASE}/api`, textUpdate(ALICE, "hi")), { waitUntil: (p) => kept.push(p) });
  assert.equal(res.status, 200);
  assert.equal(kept.length, 1, "the drain is handed to the platform's waitUntil");
  await Promise.all(kept);
  assert.deepEqual(
    sentTo(tg, ALICE.id)
      .map((c) => c.params.text)
      .slice(-1),
    ["Answered at once."],
  );
  const tenants = await h(
    new Request(`${BASE}/api/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
  );
  assert.equal(tenants.status, 200);
  assert.equal((await h(new Request(`${BASE}/api/health`))).status, 200);
  assert.equal((await h(tickRequest(`${BASE}/api`))).status, 200);
  // The dashboard, through the same handler: signed in with the admin token, the overview.
  assert.equal((await h(new Request(`${BASE}/api/`))).status, 303, "the overview asks for a sign-in first");
  const login = await h(new Request(`${BASE}/api/login`));
  assert.equal(login.status, 200);
  assert.match(login.headers.get("content-type") ?? "", /^text\/html/);
  const signedIn = await h(
    new Request(`${BASE}/api/login`, { method: "POST", body: new URLSearchParams({ token: ADMIN_TOKEN, next: "/" }) }),
  );
  assert.equal(signedIn.status, 303);
  const cookie = (signedIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const overview = await h(new Request(`${BASE}/api/`, { headers: { cookie } }));
  assert.equal(overview.status, 200);
  assert.match(await overview.text(), /<html/i);
});

test("a turn longer than one invocation continues from its last step across ticks; no model call is made twice", {
  skip,
}, async (t) => {
  const { env, tg, model } = await functionRig(t);
  // A 4-second function: each tick drains for about 3.5 s, starting no step in its last 1.8 s (the
  // grace); each model call takes 400 ms, so the 9 calls outlast one tick.
  const { h } = handlerOf(t, { ...env, AGENTD_FUNCTION_TIMEOUT: "4" });
  await paired(h, { maxIterations: 12 });
  const steps = 8;
  for (let i = 0; i < steps; i++)
    model.script({ toolCalls: [{ name: "memory_search", arguments: { query: `step ${i}` } }], firstTokenDelayMs: 400 });
  model.script({ text: "Done after many steps." });
  assert.equal((await h(webhookRequest(BASE, textUpdate(ALICE, "work hard")))).status, 200);
  const reports: TickReport[] = [];
  for (let i = 0; i < 30 && !sentTo(tg, ALICE.id).some((c) => c.params.text === "Done after many steps."); i++) {
    const t0 = performance.now();
    reports.push((await (await h(tickRequest(BASE))).json()) as TickReport);
    assert.ok(performance.now() - t0 < 4_000, "each tick returns within the function's limit");
  }
  const drains = reports.map((r) => r.drain);
  assert.ok(reports.length >= 2, `the turn outlived one invocation (${reports.length} ticks)`);
  assert.ok(
    drains.every((d) => d?.handedBack === 0) && drains.filter((d) => d?.suspended === 1).length >= 1,
    `ticks ended with the turn stopped between two steps, none cut short: ${JSON.stringify(drains)}`,
  );
  assert.equal(model.calls, steps + 1, "every model call made once: steps recorded are not paid again");
  const prompts = model.requests
    .filter((r) => r.path === "/v1/chat/completions")
    .map((r) => JSON.stringify(r.body.messages));
  assert.equal(new Set(prompts).size, prompts.length, "no request repeated");
  assert.equal(sentTo(tg, ALICE.id).filter((c) => c.params.text === "Done after many steps.").length, 1);
});

test("a model call that failed is retried by a tick once its backoff is due on the kernel's clock, and answered once", {
  skip,
}, async (t) => {
  const { env, tg, model } = await functionRig(t);
  const clock = new FakeClock(Date.UTC(2026, 2, 1));
  const { h } = handlerOf(t, env, { clock });
  await paired(h);
  model.script({ status: 500 }, { text: "Back after a retry." });
  const kept: Promise<unknown>[] = [];
  const res = await h(webhookRequest(BASE, textUpdate(ALICE, "hi")), { waitUntil: (p) => kept.push(p) });
  assert.equal(res.status, 200);
  await Promise.all(kept);
  assert.equal(model.calls, 1, "the call failed in the webhook's invocation");
  const answered = () => sentTo(tg, ALICE.id).filter((c) => c.params.text === "Back after a retry.").length;
  assert.equal(answered(), 0);
  const tick = async () => (await (await h(tickRequest(BASE))).json()) as TickReport;
  await tick();
  assert.equal(model.calls, 1, "not retried before its backoff (1 s on the kernel's clock)");
  await clock.advance(2_000);
  const report = await tick();
  assert.equal(model.calls, 2, "retried by the tick");
  assert.equal(report.drain?.finished, 1);
  assert.equal(answered(), 1);
});

test("the first tick names the webhooks to set in Twilio's and Meta's consoles beside the one it set at Telegram", {
  skip,
}, async (t) => {
  const { env, tg } = await functionRig(t);
  const { h, logs } = handlerOf(t, {
    ...env,
    TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`,
    TWILIO_AUTH_TOKEN: "twilio-token-for-functions",
    TWILIO_SMS_FROM: "+15550009999",
    TWILIO_WHATSAPP_FROM: "whatsapp:+15550008888",
    WHATSAPP_ACCESS_TOKEN: "wa-token",
    WHATSAPP_APP_SECRET: "wa-app-secret",
    WHATSAPP_PHONE_NUMBER_ID: "1234567890",
    WHATSAPP_VERIFY_TOKEN: "wa-verify-token",
  });
  const report = (await (await h(tickRequest(BASE))).json()) as TickReport;
  const url = env.AGENTD_PUBLIC_URL;
  assert.deepEqual(report.webhooks, [
    `telegram: webhook set to ${url}/channels/telegram`,
    `twilio: set "A message comes in" of +15550009999 and whatsapp:+15550008888 to ${url}/channels/twilio (HTTP POST) in Twilio's console`,
    `whatsapp: set the Meta app's WhatsApp webhook to ${url}/channels/whatsapp with WHATSAPP_VERIFY_TOKEN as its verify token, subscribed to messages`,
  ]);
  assert.deepEqual(tg.webhook, { url: `${url}/channels/telegram`, secret_token: "hook-secret-fn" });
  for (const line of report.webhooks)
    assert.ok(
      logs.some((l) => l.msg === line),
      `logged: ${line}`,
    );
  const twilio = await h(new Request(`${BASE}/channels/twilio`, { method: "POST", body: "" }));
  assert.equal(twilio.status, 403, "Twilio's webhook is served, refusing what is not signed");
  const meta = await h(
    new Request(`${BASE}/channels/whatsapp?hub.mode=subscribe&hub.verify_token=wa-verify-token&hub.challenge=42`),
  );
  assert.equal(await meta.text(), "42", "the Cloud API's webhook answers Meta's verification");
});

test("ticks that did not come are reported and logged, on the kernel's clock", { skip }, async (t) => {
  const { env } = await functionRig(t);
  const clock = new FakeClock(Date.UTC(2026, 2, 1));
  const { h, logs } = handlerOf(t, env, { clock });
  const tick = async () => (await (await h(tickRequest(BASE))).json()) as TickReport;
  assert.equal((await tick()).missed, 0, "the first tick");
  await clock.advance(61_000);
  assert.equal((await tick()).missed, 0, "a minute and a second later: on time");
  await clock.advance(5 * 60_000);
  assert.equal((await tick()).missed, 4);
  assert.ok(logs.some((l) => l.level === "warn" && /4 tick\(s\) did not complete/.test(l.msg)));
});

test("the tick secret is required before agentd opens, and the limit is checked", async (t) => {
  const { env } = await functionRig(t, sqlite);
  for (const [over, why] of [
    [{ AGENTD_TICK_SECRET: "" }, /set AGENTD_TICK_SECRET \(or CRON_SECRET/],
    [{ AGENTD_TICK_SECRET: "short" }, /16\+ random characters/],
    [{ AGENTD_FUNCTION_TIMEOUT: "1.5" }, /AGENTD_FUNCTION_TIMEOUT is not valid/],
  ] as const) {
    const { h, logs } = handlerOf(t, { ...env, ...over });
    assert.equal((await h(new Request(`${BASE}/health`))).status, 503);
    assert.match(logs.map((l) => l.msg).join("\n"), why);
  }
  const { h } = handlerOf(t, { ...env, AGENTD_TICK_SECRET: "", CRON_SECRET: TICK_SECRET });
  assert.equal((await h(new Request(`${BASE}/health`))).status, 503, "CRON_SECRET is taken; SQLite still refused");
});

test("a cold start answers a webhook without loading the browser, SSH, a DOM, the MCP client or Twilio", {
  skip,
}, async (t) => {
  const { env } = await functionRig(t);
  const cold = new URL("./procs/cold.ts", import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [cold, "/channels/telegram", JSON.stringify(textUpdate(ALICE, "hello"))],
    { env: { ...env, PATH: process.env.PATH ?? "" } },
  );
  const r = JSON.parse(stdout) as { status: number; packages: string[]; firstAnswerMs: number };
  assert.equal(r.status, 200, "the webhook answered (a stranger gets the pairing instructions)");
  for (const heavy of [
    "playwright-core",
    "ssh2",
    "linkedom",
    "@mozilla/readability",
    "@modelcontextprotocol/client",
    "twilio",
  ])
    assert.ok(!r.packages.includes(heavy), `${heavy} is not loaded by a webhook: ${r.packages.join(" ")}`);
  t.diagnostic(`cold start to the first answer: ${r.firstAnswerMs} ms`);
});
