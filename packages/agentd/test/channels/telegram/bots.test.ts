// Tenants' own Telegram bots through the API: added (token checked with getMe, kept in the vault
// under a reserved name), refused, kept from tools and other tenants, removed with their webhook and secrets.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { botChannel, tokenSecretName, webhookSecretName } from "../../../src/channels/telegram/bots.ts";
import { httpRequestTool } from "../../../src/tools/http-request/index.ts";
import { ADMIN } from "../../support/api.ts";
import { BACKENDS } from "../../support/backends.ts";
import { BOB, TOKEN_A, TOKEN_B, settle, telegramBotsRig } from "../../support/telegram-bots-rig.ts";
import { textUpdate } from "../../support/telegram-updates.ts";

for (const b of BACKENDS) {
  describe(`tenant telegram bots (${b.name})`, () => {
    const setup = (t: { after(fn: () => unknown): void }, opts?: { publicUrl?: boolean; deploymentToken?: string }) =>
      telegramBotsRig(t, b, opts);

    test("adding a bot checks the token with getMe, sets the webhook with a secret, and never shows the token", async (t) => {
      const s = await setup(t);
      const added = await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } });
      assert.equal(added.status, 201, added.text);
      const id = added.body.id as string;
      assert.match(id, /^tgb_[0-9a-z]{20}$/);
      assert.deepEqual(
        { ...added.body, createdAt: 0 },
        {
          id,
          username: "agentd_test_bot",
          mode: "webhook",
          webhookUrl: `${s.server.url}/channels/telegram/${id}`,
          createdAt: 0,
        },
      );
      assert.equal(s.tgA.callsOf("getMe").length, 1);
      assert.equal(s.tgA.webhook?.url, `${s.server.url}/channels/telegram/${id}`);
      assert.ok((s.tgA.webhook?.secret_token ?? "").length >= 32, "a secret of its own");
      assert.equal(s.tgB.calls.length, 0);

      const list = await s.call("GET", "/v1/channels/telegram");
      assert.deepEqual(
        list.body.bots.map((x: { id: string }) => x.id),
        [id],
      );
      // The vault lists the reserved names, never the values; the API never carries token or secret.
      const secrets = await s.call("GET", "/v1/secrets");
      assert.deepEqual(
        secrets.body.secrets.map((x: { name: string }) => x.name),
        [tokenSecretName(id), webhookSecretName(id)].sort(),
      );
      for (const r of [added, list, secrets]) {
        assert.ok(!r.text.includes(TOKEN_A) && !r.text.includes(TOKEN_A.split(":")[1]!), "no token in an answer");
        assert.ok(!r.text.includes(s.tgA.webhook!.secret_token!), "no webhook secret in an answer");
      }
      // Reserved names can be neither overwritten nor deleted through the secrets API.
      const put = await s.call("PUT", `/v1/secrets/${tokenSecretName(id)}`, { body: { value: "1:evil" } });
      assert.equal(put.status, 403);
      assert.equal(put.body.error.code, "secret_reserved");
      assert.equal((await s.call("DELETE", `/v1/secrets/${tokenSecretName(id)}`)).status, 403);
      assert.equal(
        (await s.call("PUT", "/v1/secrets/SYS.mine", { body: { value: "x" } })).status,
        403,
        "case does not matter",
      );
      assert.equal(await s.app.vault.get(s.app.tenants.scope(s.tenantId), tokenSecretName(id)), TOKEN_A);

      // The same bot twice: refused, for this tenant and for another.
      const again = await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A, mode: "polling" } });
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, /already added to this tenant/);
      assert.equal(
        (await s.call("POST", "/v1/channels/telegram", { key: s.keyB, body: { token: TOKEN_A } })).status,
        409,
      );
    });

    test("bad requests: a malformed or refused token, a missing field, an unknown mode; none echoes the token", async (t) => {
      // The deployment's own bot (TELEGRAM_BOT_TOKEN) is B: not a tenant's to add.
      const s = await setup(t, { publicUrl: true, deploymentToken: TOKEN_B });
      const malformed = await s.call("POST", "/v1/channels/telegram", { body: { token: "../../evil/path" } });
      assert.equal(malformed.status, 400);
      assert.match(malformed.body.error.message, /not a Telegram bot token/);
      const refused = await s.call("POST", "/v1/channels/telegram", {
        body: { token: "3333333:NoSuchBotToken-cccccccc" },
      });
      assert.equal(refused.status, 400);
      assert.match(
        refused.body.error.message,
        /Telegram refused the token \(getMe: 401 Unauthorized\): copy it again from @BotFather/,
      );
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

    test("the token is unusable by tools: the vault's tool reader and http_request refuse reserved names", async (t) => {
      const s = await setup(t);
      const id = (await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } })).body.id as string;
      const reader = s.app.vault.reader(s.app.tenants.scope(s.tenantId));
      await assert.rejects(
        reader.get(tokenSecretName(id)),
        (e: any) => e.code === "secret_reserved" && !String(e.message).includes(TOKEN_A),
      );
      await assert.rejects(reader.get(tokenSecretName(id).toUpperCase()), (e: any) => e.code === "secret_reserved");
      const ctx = {
        secrets: reader,
        services: { net: { allowPrivate: true, allowHosts: [] } },
        signal: new AbortController().signal,
      } as any;
      await assert.rejects(
        httpRequestTool.run({ url: `${s.apiRoot}/x`, auth: { secret: tokenSecretName(id) } }, ctx),
        (e: any) => e.code === "secret_reserved" && /reserved for agentd's own use/.test(e.message),
      );
      assert.equal(
        s.tgA.calls.filter((c) => c.method !== "getMe" && c.method !== "setWebhook").length,
        0,
        "no request went out",
      );
    });

    test("another tenant neither sees nor removes the bot; the admin acts for a tenant with X-Agentd-Tenant", async (t) => {
      const s = await setup(t);
      const id = (await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } })).body.id as string;
      assert.deepEqual((await s.call("GET", "/v1/channels/telegram", { key: s.keyB })).body.bots, []);
      const del = await s.call("DELETE", `/v1/channels/telegram/${id}`, { key: s.keyB });
      assert.equal(del.status, 404);
      assert.equal(s.tgA.callsOf("deleteWebhook").length, 0);
      const admin = await s.call("GET", "/v1/channels/telegram", {
        key: ADMIN,
        headers: { "x-agentd-tenant": s.tenantId },
      });
      assert.deepEqual(
        admin.body.bots.map((x: { id: string }) => x.id),
        [id],
      );
      assert.equal(
        (await s.call("GET", "/v1/channels/telegram", { key: ADMIN })).status,
        400,
        "the admin must name a tenant",
      );
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
  });
}
