// Tenants' own Telegram bots: added through the API (token checked with getMe, kept in the vault
// under a reserved name), served by webhook or long polling, delivering through their own token,
// removed with their webhook and secrets. Each bot has its own Bot API stand-in; a small proxy in
// front of them routes /bot<token>/… to the right one, as api.telegram.org serves every bot.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { HttpError } from "grammy";
import { createAgentd } from "../src/app.ts";
import { channelsFromEnv } from "../src/channels/index.ts";
import { advisoryLock, soleProcess, superviseTenantPolling } from "../src/channels/telegram/bot-polling.ts";
import { botChannel, telegramBots, tokenSecretName, webhookSecretName } from "../src/channels/telegram/bots.ts";
import { describeBotError } from "../src/channels/telegram/redact.ts";
import { serveApi } from "../src/api/index.ts";
import { sessions } from "../src/sessions/store.ts";
import { UNPAIRED_REPLY } from "../src/sessions/inbox.ts";
import { httpRequestTool } from "../src/tools/http-request.ts";
import { ADMIN } from "./support/api.ts";
import { BACKENDS, pgUrl } from "./support/backends.ts";
import { testAgentd } from "./support/app.ts";
import { startTelegramServer, type TelegramServer } from "./support/telegram-server.ts";
import { until } from "./support/wait.ts";

const TOKEN_A = "1111111:AAbotAtokenSECRETvalue-aaaaaaaa";
const TOKEN_B = "2222222:BBbotBtokenSECRETvalue-bbbbbbbb";
const ALICE = { id: 501, is_bot: false, first_name: "Alice", username: "alice" };
const BOB = { id: 502, is_bot: false, first_name: "Bob", username: "bob" };

let nextUpdate = 1;
const textUpdate = (from: typeof ALICE, text: string) => ({
  update_id: nextUpdate++,
  message: { message_id: nextUpdate, date: Math.floor(Date.now() / 1000), chat: { id: from.id, type: "private", first_name: from.first_name }, from, text },
});
const sentTo = (tg: TelegramServer, chatId: number) => tg.callsOf("sendMessage").filter((c) => String(c.params.chat_id) === String(chatId));

/**
 * Waits for every run to end: a turn completes just after its reply is sent, and the test's store is
 * dropped when the test ends (before the app closes), which a late commit would trip over.
 */
async function settle(app: { kernel: { listRuns(o: { limit: number }): Promise<{ id: string }[]>; result(id: string): Promise<unknown> } }) {
  for (const r of await app.kernel.listRuns({ limit: 100 })) await app.kernel.result(r.id).catch(() => {});
}

/** One Bot API root for several stand-ins: routes by the token in the path. */
async function botApiProxy(t: { after(fn: () => unknown): void }, servers: TelegramServer[]): Promise<string> {
  const server = createServer(async (req: IncomingMessage, res) => {
    const token = /^\/bot([^/]+)\//.exec(req.url ?? "")?.[1];
    const target = servers.find((s) => s.token === token);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!target) {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ ok: false, error_code: 401, description: "Unauthorized" }));
      return;
    }
    try {
      const r = await fetch(target.apiRoot + req.url, {
        method: req.method ?? "POST", headers: { "content-type": req.headers["content-type"] ?? "application/json" }, body: Buffer.concat(chunks),
      });
      res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text());
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

for (const b of BACKENDS) {
  describe(`tenant telegram bots (${b.name})`, () => {
    async function setup(t: { after(fn: () => unknown): void }, opts: { publicUrl?: boolean } = { publicUrl: true }) {
      const tgA = await startTelegramServer({ token: TOKEN_A });
      const tgB = await startTelegramServer({ token: TOKEN_B });
      t.after(() => tgA.close());
      t.after(() => tgB.close());
      const apiRoot = await botApiProxy(t, [tgA, tgB]);
      const env = await testAgentd(t, b);
      const { app } = env;
      const other = await app.tenants.create("other", {});
      // As `agentd start` wires it: the resolver, the webhook router at /channels/telegram.
      const channels = channelsFromEnv(app, { TELEGRAM_API_ROOT: apiRoot }, { api: true, worker: true });
      t.after(() => channels.close());
      const server = await serveApi(app, { host: "127.0.0.1", port: 0, mounts: channels.mounts });
      t.after(() => server.close());
      const logs: string[] = [];
      telegramBots(app, { apiRoot, ...(opts.publicUrl ? { publicUrl: server.url } : {}), log: (l) => logs.push(l) });
      const keyA = (await app.tenants.createApiKey(env.tenantId)).key;
      const keyB = (await app.tenants.createApiKey(other.id)).key;
      const call = async (method: string, path: string, o: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
        const res = await fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${o.key ?? keyA}`, ...(o.body === undefined ? {} : { "content-type": "application/json" }), ...o.headers },
          ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
        });
        const text = await res.text();
        return { status: res.status, text, body: text ? JSON.parse(text) : null };
      };
      const hook = (botId: string, update: object, secret: string | null) =>
        fetch(`${server.url}/channels/telegram/${botId}`, {
          method: "POST", body: JSON.stringify(update),
          headers: { "content-type": "application/json", ...(secret === null ? {} : { "x-telegram-bot-api-secret-token": secret }) },
        });
      return { ...env, tgA, tgB, apiRoot, other, server, call, hook, keyA, keyB, logs };
    }

    test("adding a bot checks the token with getMe, sets the webhook with a secret, and never shows the token", async (t) => {
      const s = await setup(t);
      const added = await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } });
      assert.equal(added.status, 201, added.text);
      const id = added.body.id as string;
      assert.match(id, /^tgb_[0-9a-z]{20}$/);
      assert.deepEqual({ ...added.body, createdAt: 0 }, {
        id, username: "agentd_test_bot", mode: "webhook", webhookUrl: `${s.server.url}/channels/telegram/${id}`, createdAt: 0,
      });
      assert.equal(s.tgA.callsOf("getMe").length, 1);
      assert.equal(s.tgA.webhook?.url, `${s.server.url}/channels/telegram/${id}`);
      assert.ok((s.tgA.webhook?.secret_token ?? "").length >= 32, "a secret of its own");
      assert.equal(s.tgB.calls.length, 0);

      const list = await s.call("GET", "/v1/channels/telegram");
      assert.deepEqual(list.body.bots.map((x: { id: string }) => x.id), [id]);
      // The vault lists the reserved names, never the values; the API never carries token or secret.
      const secrets = await s.call("GET", "/v1/secrets");
      assert.deepEqual(secrets.body.secrets.map((x: { name: string }) => x.name), [tokenSecretName(id), webhookSecretName(id)].sort());
      for (const r of [added, list, secrets]) {
        assert.ok(!r.text.includes(TOKEN_A) && !r.text.includes(TOKEN_A.split(":")[1]!), "no token in an answer");
        assert.ok(!r.text.includes(s.tgA.webhook!.secret_token!), "no webhook secret in an answer");
      }
      // Reserved names can be neither overwritten nor deleted through the secrets API.
      const put = await s.call("PUT", `/v1/secrets/${tokenSecretName(id)}`, { body: { value: "1:evil" } });
      assert.equal(put.status, 403);
      assert.equal(put.body.error.code, "secret_reserved");
      assert.equal((await s.call("DELETE", `/v1/secrets/${tokenSecretName(id)}`)).status, 403);
      assert.equal((await s.call("PUT", "/v1/secrets/SYS.mine", { body: { value: "x" } })).status, 403, "case does not matter");
      assert.equal(await s.app.vault.get(s.app.tenants.scope(s.tenantId), tokenSecretName(id)), TOKEN_A);

      // The same bot twice: refused, for this tenant and for another.
      const again = await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A, mode: "polling" } });
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, /already added to this tenant/);
      assert.equal((await s.call("POST", "/v1/channels/telegram", { key: s.keyB, body: { token: TOKEN_A } })).status, 409);
    });

    test("bad requests: a malformed or refused token, a missing field, an unknown mode; none echoes the token", async (t) => {
      const s = await setup(t);
      const malformed = await s.call("POST", "/v1/channels/telegram", { body: { token: "../../evil/path" } });
      assert.equal(malformed.status, 400);
      assert.match(malformed.body.error.message, /not a Telegram bot token/);
      const refused = await s.call("POST", "/v1/channels/telegram", { body: { token: "3333333:NoSuchBotToken-cccccccc" } });
      assert.equal(refused.status, 400);
      assert.match(refused.body.error.message, /Telegram refused the token \(getMe: 401 Unauthorized\): copy it again from @BotFather/);
      assert.ok(!refused.text.includes("NoSuchBotToken"));
      const missing = await s.call("POST", "/v1/channels/telegram", { body: { mode: "polling" } });
      assert.equal(missing.status, 400);
      assert.match(missing.body.error.message, /token/);
      const mode = await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A, mode: "carrier-pigeon" } });
      assert.equal(mode.status, 400);
      assert.match(mode.body.error.message, /^the body is not valid: mode:/);
      assert.ok(!mode.text.includes(TOKEN_A));
      assert.equal((await s.call("GET", "/v1/channels/telegram")).body.bots.length, 0);
      assert.equal(s.tgA.calls.length, 0, "a refused request never reached Telegram");
      // The deployment's own bot (TELEGRAM_BOT_TOKEN) is not a tenant's to add.
      telegramBots(s.app, { apiRoot: s.apiRoot, publicUrl: s.server.url, deploymentToken: TOKEN_B });
      const deployment = await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_B } });
      assert.equal(deployment.status, 409);
      assert.match(deployment.body.error.message, /deployment's own bot/);
      assert.equal(s.tgB.calls.length, 0);
    });

    test("webhook mode without AGENTD_PUBLIC_URL is refused; the default is then polling", async (t) => {
      const s = await setup(t, { publicUrl: false });
      const hook = await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A, mode: "webhook" } });
      assert.equal(hook.status, 400);
      assert.match(hook.body.error.message, /AGENTD_PUBLIC_URL/);
      const polled = await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } });
      assert.equal(polled.status, 201);
      assert.equal(polled.body.mode, "polling");
      assert.equal(polled.body.webhookUrl, undefined);
      assert.equal(s.tgA.callsOf("setWebhook").length, 0);
    });

    test("pairing and a turn through a tenant bot: the reply goes out with that bot's token; another bot's secret is 401", async (t) => {
      const s = await setup(t);
      const a = (await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } })).body.id as string;
      const bb = (await s.call("POST", "/v1/channels/telegram", { key: s.keyB, body: { token: TOKEN_B } })).body.id as string;
      const secretA = s.tgA.webhook!.secret_token!;
      const secretB = s.tgB.webhook!.secret_token!;
      assert.notEqual(secretA, secretB);

      // Bot B's secret on bot A's URL, none, or an unknown bot: refused before anything is read.
      assert.equal((await s.hook(a, textUpdate(ALICE, "hi"), secretB)).status, 401);
      assert.equal((await s.hook(a, textUpdate(ALICE, "hi"), null)).status, 401);
      assert.equal((await s.hook("tgb_00000000000000000000", textUpdate(ALICE, "hi"), secretA)).status, 404);
      assert.equal((await s.hook("not-a-bot", textUpdate(ALICE, "hi"), secretA)).status, 404);
      assert.equal(s.tgA.callsOf("sendMessage").length + s.tgB.callsOf("sendMessage").length, 0);

      // Unknown sender: instructions, through bot A.
      assert.equal((await s.hook(a, textUpdate(ALICE, "hello?"), secretA)).status, 200);
      assert.deepEqual(sentTo(s.tgA, ALICE.id).map((c) => c.params.text), [UNPAIRED_REPLY]);
      // A code of the other tenant sent to tenant A's bot does not pair.
      const foreign = await s.app.tenants.createPairingCode(s.other.id);
      assert.equal((await s.hook(a, textUpdate(ALICE, `/start ${foreign.code}`), secretA)).status, 200);
      assert.match(sentTo(s.tgA, ALICE.id).at(-1)!.params.text, /unknown, used or expired/);
      assert.equal(await s.app.tenants.tenantOf(botChannel(a), String(ALICE.id)), null);
      // Its own code pairs, under the bot's own channel only.
      const { code } = await s.app.tenants.createPairingCode(s.tenantId);
      assert.equal((await s.hook(a, textUpdate(ALICE, `/start ${code}`), secretA)).status, 200);
      assert.match(sentTo(s.tgA, ALICE.id).at(-1)!.params.text, /Paired/);
      assert.equal(await s.app.tenants.tenantOf(botChannel(a), String(ALICE.id)), s.tenantId);
      assert.equal(await s.app.tenants.tenantOf("telegram", String(ALICE.id)), null);
      assert.equal(await s.app.tenants.tenantOf(botChannel(bb), String(ALICE.id)), null);

      assert.equal((await s.hook(a, textUpdate(ALICE, "what's up"), secretA)).status, 200);
      await until(() => sentTo(s.tgA, ALICE.id).find((c) => /ok: what's up|ok: what&#39;s up/.test(c.params.text)), "the reply through bot A");
      assert.equal(s.tgB.callsOf("sendMessage").length, 0, "nothing went through bot B");
      const session = await sessions.latest(s.app.tenants.scope(s.tenantId));
      assert.equal(session?.channel, botChannel(a));

      // The same person pairs with the other tenant's bot too: two tenants, two bots, no mixing.
      const codeB = await s.app.tenants.createPairingCode(s.other.id);
      assert.equal((await s.hook(bb, textUpdate(ALICE, `/start ${codeB.code}`), secretB)).status, 200);
      assert.equal(await s.app.tenants.tenantOf(botChannel(bb), String(ALICE.id)), s.other.id);
      assert.equal(await s.app.tenants.tenantOf(botChannel(a), String(ALICE.id)), s.tenantId);
      for (const line of s.logs) assert.ok(!line.includes(TOKEN_A) && !line.includes(TOKEN_B), line);
      await settle(s.app);
    });

    test("the token is unusable by tools: the vault's tool reader and http_request refuse reserved names", async (t) => {
      const s = await setup(t);
      const id = (await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } })).body.id as string;
      const reader = s.app.vault.reader(s.app.tenants.scope(s.tenantId));
      await assert.rejects(reader.get(tokenSecretName(id)), (e: any) => e.code === "secret_reserved" && !String(e.message).includes(TOKEN_A));
      await assert.rejects(reader.get(tokenSecretName(id).toUpperCase()), (e: any) => e.code === "secret_reserved");
      const ctx = { secrets: reader, services: { net: { allowPrivate: true, allowHosts: [] } }, signal: new AbortController().signal } as any;
      await assert.rejects(
        httpRequestTool.run({ url: `${s.apiRoot}/x`, auth: { secret: tokenSecretName(id) } }, ctx),
        (e: any) => e.code === "secret_reserved" && /reserved for agentd's own use/.test(e.message),
      );
      assert.equal(s.tgA.calls.filter((c) => c.method !== "getMe" && c.method !== "setWebhook").length, 0, "no request went out");
    });

    test("another tenant neither sees nor removes the bot; the admin acts for a tenant with X-Agentd-Tenant", async (t) => {
      const s = await setup(t);
      const id = (await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } })).body.id as string;
      assert.deepEqual((await s.call("GET", "/v1/channels/telegram", { key: s.keyB })).body.bots, []);
      const del = await s.call("DELETE", `/v1/channels/telegram/${id}`, { key: s.keyB });
      assert.equal(del.status, 404);
      assert.equal(s.tgA.callsOf("deleteWebhook").length, 0);
      const admin = await s.call("GET", "/v1/channels/telegram", { key: ADMIN, headers: { "x-agentd-tenant": s.tenantId } });
      assert.deepEqual(admin.body.bots.map((x: { id: string }) => x.id), [id]);
      assert.equal((await s.call("GET", "/v1/channels/telegram", { key: ADMIN })).status, 400, "the admin must name a tenant");
    });

    test("removing a bot deletes its webhook, secrets and pairings; its URL then answers 404", async (t) => {
      const s = await setup(t);
      const id = (await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } })).body.id as string;
      const secret = s.tgA.webhook!.secret_token!;
      await s.app.tenants.bindIdentity(s.tenantId, botChannel(id), String(BOB.id));
      assert.equal((await s.hook(id, textUpdate(BOB, "warm the cache"), secret)).status, 200);
      await settle(s.app);
      assert.equal((await s.call("DELETE", `/v1/channels/telegram/${id}`)).status, 204);
      assert.equal(s.tgA.webhook, null);
      assert.equal(s.tgA.callsOf("deleteWebhook").length, 1);
      assert.deepEqual((await s.call("GET", "/v1/secrets")).body.secrets, []);
      assert.deepEqual((await s.call("GET", "/v1/channels/telegram")).body.bots, []);
      assert.equal(await s.app.tenants.tenantOf(botChannel(id), String(BOB.id)), null);
      assert.equal((await s.hook(id, textUpdate(BOB, "still there?"), secret)).status, 404);
      assert.equal(await s.app.channels.adapter(botChannel(id)), null, "no adapter is left for it");
      assert.equal((await s.call("DELETE", `/v1/channels/telegram/${id}`)).status, 404);
      // Added again after removal: a new bot.
      assert.equal((await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } })).status, 201);
    });

    test("a process started after the bot was added delivers through it (the resolver finds it in the store)", async (t) => {
      const s = await setup(t);
      const id = (await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } })).body.id as string;
      const app2 = await createAgentd({ env: {}, config: { ...s.place, adminToken: ADMIN, model: { id: "none" } }, worker: false, logger: () => {} });
      t.after(() => app2.close());
      const ch2 = channelsFromEnv(app2, { TELEGRAM_API_ROOT: s.apiRoot }, { api: false, worker: true });
      t.after(() => ch2.close());
      const scope = app2.tenants.scope(s.tenantId);
      const session = await sessions.open(scope, botChannel(id), String(ALICE.id), Date.now());
      await app2.channels.deliver({ tenantId: s.tenantId, session, kind: "notice", text: "hello from the second process", key: "notice:test:1" });
      assert.ok(sentTo(s.tgA, ALICE.id).find((c) => c.params.text === "hello from the second process"));
      assert.equal(await app2.channels.adapter("telegram:tgb_00000000000000000000"), null);
      assert.equal(await app2.channels.adapter("telegram"), null, "the deployment's channel is not a tenant bot");
    });

    test("polling mode: a worker's supervisor polls the bot, answers through it, and lets go once it is removed", async (t) => {
      const s = await setup(t, { publicUrl: false });
      const id = (await s.call("POST", "/v1/channels/telegram", { key: s.keyB, body: { token: TOKEN_B } })).body.id as string;
      const stop = new AbortController();
      const bots = telegramBots(s.app);
      const done = superviseTenantPolling(bots, stop.signal, { lock: soleProcess, rescanMs: 50, log: (l) => s.logs.push(l) });
      t.after(async () => {
        stop.abort();
        await done;
      });
      const { code } = await s.app.tenants.createPairingCode(s.other.id);
      s.tgB.push(textUpdate(BOB, `/start ${code}`));
      await until(() => sentTo(s.tgB, BOB.id).find((c) => /Paired/.test(c.params.text)), "pairing through the polled bot");
      s.tgB.push(textUpdate(BOB, "polled"));
      await until(() => sentTo(s.tgB, BOB.id).find((c) => c.params.text === "ok: polled"), "the reply through bot B");
      await settle(s.app);
      assert.equal(s.tgA.calls.length, 0);

      assert.equal((await s.call("DELETE", `/v1/channels/telegram/${id}`, { key: s.keyB })).status, 204);
      await new Promise((r) => setTimeout(r, 300));
      const polls = s.tgB.callsOf("getUpdates").length;
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(s.tgB.callsOf("getUpdates").length, polls, "no more polling once removed");
      for (const line of s.logs) assert.ok(!line.includes(TOKEN_B), line);
    });
  });
}

test("one poller per store on Postgres: a second process does not get the lock until the first lets go", { skip: pgUrl ? false : "no Postgres" }, async () => {
  const schema = `os_lock_${Date.now()}`;
  const first = advisoryLock(pgUrl as string, schema, () => {});
  const second = advisoryLock(pgUrl as string, schema, () => {});
  const elsewhere = advisoryLock(pgUrl as string, `${schema}_other`, () => {});
  try {
    assert.equal(await first.acquire(), true);
    assert.equal(await first.acquire(), true, "held: taken again at once");
    assert.equal(await second.acquire(), false);
    assert.equal(await elsewhere.acquire(), true, "another schema has its own poller");
    await first.release();
    assert.equal(await until(() => second.acquire(), "the lock after release", 5000), true);
  } finally {
    await Promise.all([first.release(), second.release(), elsewhere.release()]);
  }
});

test("on Postgres, when the polling worker stops, another worker of the store takes the bot over", { skip: pgUrl ? false : "no Postgres" }, async (t) => {
  const { postgres } = await import("./support/backends.ts");
  const tg = await startTelegramServer({ token: TOKEN_A });
  t.after(() => tg.close());
  const env = await testAgentd(t, postgres);
  const first = env.app;
  const bots1 = telegramBots(first, { apiRoot: tg.apiRoot, log: () => {} });
  const bot = await bots1.create(env.tenantId, TOKEN_A, "polling");
  const second = await createAgentd({ env: {}, config: { ...env.place, adminToken: ADMIN, model: { id: "none" } }, worker: false, logger: () => {} });
  t.after(() => second.close());
  const bots2 = telegramBots(second, { apiRoot: tg.apiRoot, log: () => {} });
  const lockOf = (app: typeof first) => advisoryLock(pgUrl as string, app.config.pgSchema as string, () => {});
  const stop1 = new AbortController();
  const stop2 = new AbortController();
  const done1 = superviseTenantPolling(bots1, stop1.signal, { lock: lockOf(first), rescanMs: 50, log: () => {} });
  await until(() => tg.callsOf("getUpdates").length > 0, "the first worker polling");
  const done2 = superviseTenantPolling(bots2, stop2.signal, { lock: lockOf(second), rescanMs: 50, log: () => {} });
  t.after(async () => {
    stop1.abort();
    stop2.abort();
    await Promise.all([done1, done2]);
  });
  const { code } = await first.tenants.createPairingCode(env.tenantId);
  tg.push(textUpdate(ALICE, `/start ${code}`));
  await until(() => sentTo(tg, ALICE.id).find((c) => /Paired/.test(c.params.text)), "pairing through the first worker");
  stop1.abort();
  await done1;
  tg.push(textUpdate(BOB, "anyone there?"));
  await until(() => sentTo(tg, BOB.id).find((c) => c.params.text === UNPAIRED_REPLY), "an answer once the second worker took over", 10_000);
  assert.equal(await second.tenants.tenantOf(botChannel(bot.id), String(ALICE.id)), env.tenantId);
  stop2.abort();
  await done2;
});

test("errors about a bot never carry its token, even when the network error quotes the URL", () => {
  const token = "4444444:SecretPartOfTheToken_dddd";
  const e = new HttpError("Network request for 'getMe' failed!", new Error(`request to https://api.telegram.org/bot${token}/getMe failed, reason: ECONNRESET`));
  const line = describeBotError(e, token);
  assert.match(line, /Network request for 'getMe' failed! request to https:\/\/api\.telegram\.org\/bot\[bot token\]\/getMe failed/);
  assert.ok(!line.includes("SecretPartOfTheToken"));
  assert.equal(describeBotError(new Error(`x ${encodeURIComponent(token)} y`), token), "x [bot token] y");
});
