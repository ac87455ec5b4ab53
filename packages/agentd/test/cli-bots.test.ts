// `agentd bots` as real processes on a SQLite data folder, and `agentd start` serving a bot added
// that way: polled by its worker, answering through the bot's own token.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { UNPAIRED_REPLY } from "../src/sessions/inbox.ts";
import { cleanEnv, freePort, MAIN, tempDir } from "./support/cli.ts";
import { startTelegramServer } from "./support/telegram-server.ts";
import { until } from "./support/wait.ts";

const TOKEN = "5555555:CliBotTokenSecretPart-eeeeeeee";

async function agentd(
  args: string[],
  env: NodeJS.ProcessEnv,
  stdin = "",
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { env });
  child.stdin.end(stdin);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

test("agentd bots add (token on stdin) / list / remove, and agentd start polls a bot added that way", async (t) => {
  const tg = await startTelegramServer({ token: TOKEN });
  t.after(() => tg.close());
  const data = tempDir(t);
  const env = cleanEnv({ TELEGRAM_API_ROOT: tg.apiRoot, TELEGRAM_BOTS_RESCAN_MS: "100" });
  const created = await agentd(["tenants", "create", "acme", "--data", data], env);
  const tenant = /created tenant (\S+)/.exec(created.stdout)?.[1] as string;
  assert.ok(tenant, created.stdout + created.stderr);

  const noToken = await agentd(["bots", "add", "--tenant", tenant, "--data", data], env);
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /needs the bot's token from @BotFather: pipe it in with --token-stdin/);
  const bad = await agentd(
    ["bots", "add", "--tenant", tenant, "--token-stdin", "--data", data],
    env,
    "6666666:NotThisOne\n",
  );
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^agentd: Telegram refused the token \(getMe: 401 Unauthorized\)/);
  assert.ok(!bad.stderr.includes("NotThisOne"));
  const webhook = await agentd(
    ["bots", "add", "--tenant", tenant, "--token-stdin", "--mode", "webhook", "--data", data],
    env,
    `${TOKEN}\n`,
  );
  assert.equal(webhook.code, 1);
  assert.match(webhook.stderr, /webhook mode needs AGENTD_PUBLIC_URL/);

  const added = await agentd(["bots", "add", "--tenant", tenant, "--token-stdin", "--data", data], env, `${TOKEN}\n`);
  assert.equal(added.code, 0, added.stderr);
  const id = /added Telegram bot (tgb_\S+) \(@agentd_test_bot\) to tenant/.exec(added.stdout)?.[1] as string;
  assert.ok(id, added.stdout);
  assert.match(added.stdout, /long polling by a worker/);
  const list = await agentd(["bots", "list", "--data", data], env);
  assert.match(list.stdout, new RegExp(`^${id}\\s+${tenant}\\s+@agentd_test_bot\\s+polling\\s`, "m"));
  for (const r of [added, list]) assert.ok(!(r.stdout + r.stderr).includes(TOKEN));

  // agentd start finds it in the store: counted in the ready line, polled, answering through it.
  const child = spawn(process.execPath, [MAIN, "start", "--data", data], {
    env: { ...env, AGENTD_PORT: String(await freePort()) },
  });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const line = await until(() => out.split("\n").find((l) => l.startsWith("agentd ready")), "the ready line", 15_000);
  assert.match(line, /; channels: 1 tenant telegram bot$/);
  tg.push({
    message: {
      message_id: 1,
      date: 1,
      chat: { id: 77, type: "private" },
      from: { id: 77, is_bot: false, first_name: "Eve" },
      text: "hello?",
    },
  });
  const sent = await until(
    () => [...tg.messages.values()].find((m) => m.chat_id === "77"),
    "the answer through the tenant bot",
  );
  assert.equal(sent.text, UNPAIRED_REPLY);
  child.kill("SIGTERM");
  await once(child, "close");
  assert.ok(!(out + err).includes(TOKEN), "no token in agentd start's output");

  const removed = await agentd(["bots", "remove", "--tenant", tenant, id, "--data", data], env);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, new RegExp(`removed Telegram bot ${id} from tenant ${tenant}\\n`));
  assert.match(
    (await agentd(["bots", "list", "--tenant", tenant, "--data", data], env)).stdout,
    /no Telegram bots for tenant/,
  );
  const again = await agentd(["bots", "remove", "--tenant", tenant, id, "--data", data], env);
  assert.equal(again.code, 3, "not found: exit code 3");
  assert.match(again.stderr, /telegram bot .* not found/);
});
