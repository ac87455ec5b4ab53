/**
 * End to end on the Telegram stand-in, through an MCP server that needs OAuth, with a real `agentd
 * start` (procs/agentd-channels.ts): the person asks to star a repo, the tenant's GitHub-like MCP
 * server answers 401, the agent is offered its authorize tool, the connect link arrives in the chat,
 * the person follows it through the authorization server (oidc-provider), the same run goes on with
 * the server's own tools and stars the repo as that person (the server checks the bearer), the reply
 * confirms. agentd is SIGKILLed while the run waits for the person and again just after the
 * callback: the link is sent once, the repo starred once, the reply sent once.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { approvals } from "../../src/agent/approvals.ts";
import { policies } from "../../src/agent/policy.ts";
import { createAgentd } from "../../src/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { cleanEnv, freePort } from "../support/cli.ts";
import { processes } from "../support/harness.ts";
import { starFactory } from "../support/mcp-servers.ts";
import { type RecordedRequest, startModelServer } from "../support/model-server.ts";
import { type OAuthServer, startOAuthServer } from "../support/oauth-server.ts";
import { assertNowhereAfterE2e } from "../support/planted.ts";
import { protectedMcp } from "../support/protected-mcp.ts";
import { storedText } from "../support/stored-text.ts";
import { startTelegramServer } from "../support/telegram-server.ts";
import { until } from "../support/wait.ts";

const HARNESS = fileURLToPath(new URL("../procs/agentd-channels.ts", import.meta.url));
const SECRET = "e2e-secret";
const USER = { id: 703, is_bot: false, first_name: "Ada" };
const REPLY = "Starred octo/hello for you.";

/** The model as the conversation goes, from what it was sent: a request made again after a kill gets the same answer. */
function modelTurn(req: RecordedRequest) {
  const tools = (req.body.messages as { role: string; content: unknown }[]).filter((m) => m.role === "tool");
  const last = String(tools.at(-1)?.content ?? "");
  if (last.includes("starred octo/hello")) return { text: REPLY };
  if (last.includes("is authorized"))
    return { toolCalls: [{ name: "mcp__github__star_repo", arguments: { repo: "octo/hello" } }] };
  return { toolCalls: [{ name: "mcp__github__agentd_authorize", arguments: {} }] };
}

for (const b of BACKENDS)
  describe(`an MCP server's OAuth from Telegram (${b.name})`, () => {
    test("star the repo through MCP: link in the chat, authorization, the same run stars it; SIGKILLs before and after the callback; its tokens (planted) nowhere but sealed in the vault", async (t) => {
      const place = b.place(t);
      const port = await freePort();
      const publicUrl = `http://127.0.0.1:${port}`;
      let server!: OAuthServer;
      const mcp = await protectedMcp(t, () => server, { factory: starFactory() });
      server = await startOAuthServer({ redirectUri: `${publicUrl}/oauth/callback`, resources: [mcp.url] });
      t.after(() => server.close());
      const model = await startModelServer();
      t.after(() => model.close());
      model.fallback = modelTurn;
      const tg = await startTelegramServer();
      t.after(() => tg.close());
      const env = cleanEnv({
        AGENTD_PORT: String(port),
        AGENTD_PUBLIC_URL: publicUrl,
        AGENTD_ALLOW_HOSTS: `${new URL(server.issuer).host},${new URL(mcp.url).host}`,
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
        config: {
          ...place,
          model: { id: "stand-in", baseURL: model.url, apiKey: "k" },
          net: { allowPrivate: true, allowHosts: [] },
        },
        worker: false,
        logger: () => {},
      });
      t.after(() => client.close());
      const tenantId = (await client.tenants.create("e2e")).id;
      const scope = client.tenants.scope(tenantId);
      const { code } = await client.tenants.createPairingCode(tenantId);
      await client.tenants.redeemPairingCode(code, "telegram", String(USER.id));
      await client.mcp.servers.add(scope, { name: "github", transport: "http", url: mcp.url });
      await policies.set(scope, { tool: "mcp__github__star_repo", decision: "allow" }, Date.now());
      const { start, exited, output } = processes(t, HARNESS, ["start", "--data", place.dataDir], env);
      const chat = () => tg.visible(USER.id).map((m) => m.text);

      let agentd = await start();
      const res = await fetch(`${publicUrl}/channels/telegram`, {
        method: "POST",
        body: JSON.stringify({
          update_id: 9101,
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
      assert.equal(page.status, 200, await page.clone().text());
      assert.match(await page.text(), /mcp:github is connected/);
      // Killed again just after the callback: the event is stored; the run resumes on the next start.
      agentd.kill("SIGKILL");
      assert.equal(await exited(agentd), "SIGKILL");
      agentd = await start();
      // A run that woke fast enough to begin star_repo's step before the kill: its outcome unknown to
      // agentd (the tool is not marked read-only), a person is asked before it runs again, and approves.
      const cut = await until(
        async () =>
          (await client.kernel.getRun(run.id))?.status === "completed" ||
          (await approvals.list(scope)).find((a) => a.subject.startsWith("RUN AGAIN?")),
        "the run to end, or to ask before running the cut call again",
        200_000,
      );
      if (cut !== true) await approvals.decide(scope, cut.id, "once", "test", Date.now(), client.kernel);

      assert.equal((await client.kernel.result<{ text: string }>(run.id)).text, REPLY);
      await until(() => chat().includes(REPLY), "the reply in the chat");
      assert.deepEqual(
        mcp.calls.map((c) => `${c.account}:${c.tool}:${JSON.stringify(c.args)}`),
        ['ada:star_repo:{"repo":"octo/hello"}'],
        "starred as the person, once",
      );
      assert.equal(server.grants.authorization_code, 1, "one authorization");
      assert.equal(chat().filter((m) => m.includes("/auth?")).length, 1, "the link was sent once");
      assert.equal(chat().filter((m) => m === REPLY).length, 1, "one reply");
      assert.equal((await client.kernel.listRuns({})).length, 1, "one turn");
      agentd.kill("SIGKILL");
      await exited(agentd);
      // The person's tokens reached the server, and nothing else: every token the provider issued
      // (access, refresh, the code) is in no row outside the vault, journal, model request, chat or
      // line agentd wrote (its logs, the access log of the callback included).
      const bearers = [...new Set(mcp.seen.filter((h) => h.startsWith("Bearer ")).map((h) => h.slice(7)))];
      assert.ok(bearers.length > 0 && bearers.every((v) => server.issued.some((s) => s.value === v)));
      assert.ok(server.issued.some((s) => s.kind === "refresh"));
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
