/**
 * End to end on the Telegram stand-in, with a real `agentd start` (procs/agentd-channels.ts): the
 * person asks to star a repo, the agent finds it needs GitHub, the connect link arrives in the chat,
 * the person follows it through the authorization server (oidc-provider), the run resumes and stars
 * the repo as them (the GitHub-like API checks the bearer), the reply confirms. agentd is SIGKILLed
 * while the run waits for the person and again just after the callback: nothing is lost, the link is
 * sent once, the repo starred once, the reply sent once.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { policies } from "../../src/agent/policy.ts";
import { createAgentd } from "../../src/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { cleanEnv, freePort } from "../support/cli.ts";
import { processes } from "../support/harness.ts";
import { startModelServer } from "../support/model-server.ts";
import { startOAuthServer } from "../support/oauth-server.ts";
import { assertNowhere, assertNowhereAfterE2e } from "../support/planted.ts";
import { storedText } from "../support/stored-text.ts";
import { startTelegramServer } from "../support/telegram-server.ts";
import { until } from "../support/wait.ts";
import { githubApp } from "./rig.ts";

const HARNESS = fileURLToPath(new URL("../procs/agentd-channels.ts", import.meta.url));
const SECRET = "e2e-secret";
const USER = { id: 702, is_bot: false, first_name: "Ada" };

for (const b of BACKENDS)
  describe(`connect an app from Telegram (${b.name})`, () => {
    test("star the repo: link in the chat, authorization, the run resumes, SIGKILLs before and after the callback; its tokens (planted) nowhere but sealed in the vault", async (t) => {
      const place = b.place(t);
      const port = await freePort();
      const publicUrl = `http://127.0.0.1:${port}`;
      const server = await startOAuthServer({ redirectUri: `${publicUrl}/oauth/callback` });
      t.after(() => server.close());
      const model = await startModelServer();
      t.after(() => model.close());
      const tg = await startTelegramServer();
      t.after(() => tg.close());
      const github = githubApp(server);
      const env = cleanEnv({
        AGENTD_PORT: String(port),
        AGENTD_PUBLIC_URL: publicUrl,
        AGENTD_OAUTH_APPS: JSON.stringify([github]),
        AGENTD_ALLOW_HOSTS: `${new URL(server.issuer).host},${new URL(server.apiUrl).host}`,
        TELEGRAM_BOT_TOKEN: tg.token,
        TELEGRAM_API_ROOT: tg.apiRoot,
        TELEGRAM_WEBHOOK_SECRET: SECRET,
        AGENTD_MODEL_BASE_URL: model.url,
        AGENTD_MODEL: "stand-in",
        AGENTD_MODEL_API_KEY: "k",
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
      const tenantId = (await client.tenants.create("e2e")).id;
      const { code } = await client.tenants.createPairingCode(tenantId);
      await client.tenants.redeemPairingCode(code, "telegram", String(USER.id));
      await policies.set(client.tenants.scope(tenantId), { tool: "http_request", decision: "allow" }, Date.now());
      const { start, exited, output } = processes(t, HARNESS, ["start", "--data", place.dataDir], env);
      const star = `${server.apiUrl}/user/starred/octo/hello`;
      model.script(
        { toolCalls: [{ name: "http_request", arguments: { method: "PUT", url: star, connection: "github" } }] },
        { text: "Starred octo/hello for you." },
      );
      const chat = () => tg.visible(USER.id).map((m) => m.text);

      let agentd = await start();
      const res = await fetch(`${publicUrl}/channels/telegram`, {
        method: "POST",
        body: JSON.stringify({
          update_id: 9001,
          message: {
            message_id: 1,
            date: Math.floor(Date.now() / 1000),
            from: USER,
            chat: { id: USER.id, type: "private", first_name: "Ada" },
            text: "star the repo octo/hello",
          },
        }),
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET },
      });
      assert.equal(res.status, 200);
      const linkText = await until(() => chat().find((m) => m.includes("/auth?")), "the connect link in the chat");
      const link = String(/https?:\/\/[^\s"<>]+\/auth\?[^\s"<>]+/.exec(linkText)?.[0]).replaceAll("&amp;", "&");
      const run = await until(async () => (await client.kernel.listRuns({}))[0], "the turn");
      await until(async () => (await client.kernel.getRun(run.id))?.status === "suspended", "the run waits");

      // Killed while the run waits for the person.
      agentd.kill("SIGKILL");
      assert.equal(await exited(agentd), "SIGKILL");
      agentd = await start();
      const back = await server.authorize(link, { account: "ada" });
      const page = await fetch(back);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /github is connected/);
      // Killed again just after the callback: the event is stored; the run resumes on the next start.
      agentd.kill("SIGKILL");
      assert.equal(await exited(agentd), "SIGKILL");
      agentd = await start();

      assert.equal((await client.kernel.result<{ text: string }>(run.id)).text, "Starred octo/hello for you.");
      await until(() => chat().includes("Starred octo/hello for you."), "the reply in the chat");
      assert.deepEqual([...server.starred], ["ada:octo/hello"], "starred as the person, once");
      assert.equal(server.grants.authorization_code, 1, "one authorization");
      assert.equal(chat().filter((m) => m.includes("/auth?")).length, 1, "the link was sent once");
      assert.equal(chat().filter((m) => m === "Starred octo/hello for you.").length, 1, "one reply");
      assert.equal((await client.kernel.listRuns({})).length, 1, "one turn");
      // Opening the link again after all that asks nothing and changes nothing.
      assert.equal((await fetch(back)).status, 200);
      assert.equal(server.grants.authorization_code, 1);
      agentd.kill("SIGKILL");
      await exited(agentd);
      // Every token the provider issued (access, refresh, the code) is planted: in no row outside the
      // vault, journal, model request, chat or line agentd wrote (the callback's access log included).
      assert.ok(server.issued.some((s) => s.kind === "refresh"));
      assert.throws(() => assertNowhere(server.issued, { "the API's headers": server.apiAuth.join("\n") }));
      await assertNowhereAfterE2e(server.issued, {
        kernel: client.kernel,
        runId: run.id,
        stored: () => storedText(place),
        modelRequests: model.requests,
        chat: tg.visible(USER.id),
        output,
      });
    });
  });
