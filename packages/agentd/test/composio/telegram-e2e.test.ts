/**
 * End to end through Composio on the Telegram stand-in, with a real `agentd start`
 * (procs/agentd-channels.ts) and the real SDK against the stand-in of Composio's API: the person asks
 * to star a repo, the agent finds GitHub's tool, the Connect Link arrives in the chat, agentd is
 * SIGKILLed while the run waits, the person connects at Composio, agentd is killed again just after
 * Composio's callback, and the run resumes and stars the repo as the tenant's Composio user: the link
 * sent once, the tool run once, one reply.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { approvals } from "../../src/agent/approvals.ts";
import { policies } from "../../src/agent/policy.ts";
import { createAgentd } from "../../src/app.ts";
import { composioUserId } from "../../src/composio/user.ts";
import { BACKENDS } from "../support/backends.ts";
import { cleanEnv, freePort } from "../support/cli.ts";
import { startComposioServer } from "../support/composio-server.ts";
import { processes } from "../support/harness.ts";
import { startModelServer } from "../support/model-server.ts";
import { assertNowhere, assertNowhereAfterE2e } from "../support/planted.ts";
import { storedText } from "../support/stored-text.ts";
import { startTelegramServer } from "../support/telegram-server.ts";
import { until } from "../support/wait.ts";

/** The operator's key, planted: long enough that finding it anywhere would not be chance. */
const KEY = "ck_operator_e2e_5f0c2a9d81b7e4c3";
const HARNESS = fileURLToPath(new URL("../procs/agentd-channels.ts", import.meta.url));
const SECRET = "e2e-secret";
const USER = { id: 703, is_bot: false, first_name: "Ada" };
const STAR = "GITHUB_STAR_A_REPOSITORY_FOR_THE_AUTHENTICATED_USER";

for (const b of BACKENDS)
  describe(`connect a Composio toolkit from Telegram (${b.name})`, () => {
    test("star the repo through Composio: link in the chat, SIGKILLs while waiting and after the callback; the credential and the key (planted) nowhere", async (t) => {
      const place = b.place(t);
      const port = await freePort();
      const publicUrl = `http://127.0.0.1:${port}`;
      const composio = await startComposioServer({ keys: [KEY] });
      t.after(() => composio.close());
      const model = await startModelServer();
      t.after(() => model.close());
      const tg = await startTelegramServer();
      t.after(() => tg.close());
      const env = cleanEnv({
        AGENTD_PORT: String(port),
        AGENTD_PUBLIC_URL: publicUrl,
        AGENTD_COMPOSIO_API_KEY: KEY,
        AGENTD_COMPOSIO_BASE_URL: composio.url,
        AGENTD_COMPOSIO_TOOLKIT_VERSIONS: "github=20250909_00",
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
      const scope = client.tenants.scope(tenantId);
      await policies.set(scope, { tool: "composio__composio__execute", decision: "allow" }, Date.now());
      const { start, exited, output } = processes(t, HARNESS, ["start", "--data", place.dataDir], env);
      model.script(
        { toolCalls: [{ name: "composio__composio__find_tools", arguments: { toolkit: "github", search: "star" } }] },
        {
          toolCalls: [
            {
              name: "composio__composio__execute",
              arguments: { toolkit: "github", tool: STAR, arguments: { owner: "octo", repo: "hello" } },
            },
          ],
        },
        { text: "Starred octo/hello for you." },
      );
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
      const linkText = await until(() => chat().find((m) => m.includes("/connect/")), "the connect link in the chat");
      const link = String(/https?:\/\/[^\s"<>]+\/connect\/[a-z0-9]+/.exec(linkText)?.[0]);
      const run = await until(async () => (await client.kernel.listRuns({}))[0], "the turn");
      await until(async () => (await client.kernel.getRun(run.id))?.status === "suspended", "the run waits");

      // Killed while the run waits for the person.
      agentd.kill("SIGKILL");
      assert.equal(await exited(agentd), "SIGKILL");
      agentd = await start();
      // The case under test: the event is stored, the run resumes on the next start. However fast it
      // wakes, an execution it sends before the kill is held, and dropped when the kill cuts its
      // connection: never run at Composio (a kill mid-call is rerun-crash.test.ts's case).
      const release = composio.hold();
      const back = await composio.complete(link);
      assert.ok(back.startsWith(`${publicUrl}/composio/callback?`), back);
      const page = await fetch(back);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /github is connected through Composio/);
      // Killed again just after the callback: the event is stored; the run resumes on the next start.
      agentd.kill("SIGKILL");
      assert.equal(await exited(agentd), "SIGKILL");
      // An execution held when the process died is dropped once the stand-in sees its socket close
      // (which may come after the exit): released before that, it would run at Composio.
      const sent = composio.requests.filter((q) => q.path.includes("/tools/execute/")).length;
      await until(() => composio.dropped === sent, "the held executions to lose their client");
      release();
      agentd = await start();
      // A run that woke fast enough to begin the execution before the kill (held, then dropped): agentd
      // cannot know it did not happen at Composio, so a person is asked before it runs again, and approves.
      const cut = await until(
        async () =>
          (await client.kernel.getRun(run.id))?.status === "completed" ||
          (await approvals.list(scope)).find((a) => a.subject.startsWith("RUN AGAIN?")),
        "the run to end, or to ask before running the cut execution again",
        200_000,
      ).catch(async (e) => {
        const steps = (await client.kernel.journal(run.id)).map((j) => `${j.name}:${j.status}:${j.attempt}`);
        throw new Error(
          `${(e as Error).message}; run ${(await client.kernel.getRun(run.id))?.status}, journal ${steps.join(" ")}`,
        );
      });
      if (cut !== true) {
        assert.equal(composio.executed.length, 0, "not executed again before the person answers");
        await approvals.decide(scope, cut.id, "once", "test", Date.now(), client.kernel);
      }

      assert.equal((await client.kernel.result<{ text: string }>(run.id)).text, "Starred octo/hello for you.");
      await until(() => chat().includes("Starred octo/hello for you."), "the reply in the chat");
      assert.deepEqual(
        composio.executed.map((e) => [e.slug, e.user_id, e.version, `${e.arguments.owner}/${e.arguments.repo}`]),
        [[STAR, composioUserId(tenantId), "20250909_00", "octo/hello"]],
        "starred as the tenant's Composio user, at the pinned version, once",
      );
      assert.equal(
        composio.requests.filter((q) => q.path.endsWith("/connected_accounts/link")).length,
        1,
        "one Connect Link asked of Composio",
      );
      assert.equal(chat().filter((m) => m.includes("/connect/")).length, 1, "the link was sent once");
      assert.equal(chat().filter((m) => m === "Starred octo/hello for you.").length, 1, "one reply");
      assert.equal((await client.kernel.listRuns({})).length, 1, "one turn");
      // The callback opened again changes nothing.
      assert.equal((await fetch(back)).status, 200);
      assert.equal(composio.executed.length, 1);
      agentd.kill("SIGKILL");
      await exited(agentd);
      // The account's credential (Composio returns it to the key's owner) and the operator's key are
      // planted: in no row, journal, model request, chat or line agentd wrote.
      const planted = [
        ...[...composio.accounts.values()].map((a) => ({ kind: "account's credential", value: a.token })),
        { kind: "operator's key", value: KEY },
      ];
      assert.throws(() => assertNowhere(planted, { "Composio's requests": JSON.stringify(composio.requests) }));
      await assertNowhereAfterE2e(planted, {
        kernel: client.kernel,
        runId: run.id,
        stored: () => storedText(place),
        modelRequests: model.requests,
        chat: tg.visible(USER.id),
        output,
      });
    });
  });
