// `agentd doctor` in a function's environment says what createAgentdHandler would refuse, and that
// channels reach a function by webhook only.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { SQLITE_REFUSED } from "../../src/serverless/index.ts";
import { agentd, cleanEnv, tempDir } from "../support/cli.ts";
import { startTelegramServer } from "../support/telegram-server.ts";

const lines = (out: string) =>
  out
    .split("\n")
    .filter((l) => /^(ok|FAIL)\s+function\s/.test(l))
    .map((l) => l.replace(/^(ok|FAIL)\s+function\s+/, "$1 "));

test("agentd doctor in a function's environment: SQLite and long polling refused with the fix, webhooks asked for; ready when all is set", async (t) => {
  const tg = await startTelegramServer();
  t.after(() => tg.close());
  const dir = tempDir(t);
  const telegram = { TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRoot, AGENTD_MODEL: "echo" };
  const sqlite = await agentd(["doctor", "--data", dir], cleanEnv({ ...telegram, CRON_SECRET: "short" }));
  assert.equal(sqlite.code, 1);
  assert.deepEqual(lines(sqlite.stdout), [
    `FAIL ${SQLITE_REFUSED}`,
    "FAIL set AGENTD_TICK_SECRET (or CRON_SECRET, which Vercel Cron sends) to 16+ random characters: the tick route refuses calls without it",
    "FAIL set AGENTD_PUBLIC_URL (the deployment's https URL): channels reach a function by webhook only, and their webhooks are set from it",
  ]);

  // Postgres named (nothing listens there: only the function's own line is read here).
  const pg = { ...telegram, DATABASE_URL: "postgres://postgres@127.0.0.1:1/none", VERCEL: "1" };
  const polling = await agentd(["doctor", "--data", dir], cleanEnv({ ...pg, CRON_SECRET: "cron-secret-0123456789" }));
  const got = lines(polling.stdout);
  assert.ok(
    got.some((l) => /^FAIL set AGENTD_MASTER_KEY .* lost with it/.test(l)),
    got.join("\n"),
  );
  assert.ok(got.some((l) => /^FAIL set AGENTD_ADMIN_TOKEN/.test(l)));
  assert.ok(
    got.includes(
      "FAIL set TELEGRAM_WEBHOOK_SECRET: long polling does not fit functions (nothing runs between invocations), so the bot must be served by its webhook",
    ),
    got.join("\n"),
  );

  const ready = await agentd(
    ["doctor", "--data", dir],
    cleanEnv({
      ...pg,
      CRON_SECRET: "cron-secret-0123456789",
      AGENTD_MASTER_KEY: randomBytes(32).toString("base64"),
      AGENTD_ADMIN_TOKEN: "admin-token-for-functions",
      TELEGRAM_WEBHOOK_SECRET: "hook-secret",
      AGENTD_PUBLIC_URL: "https://agentd.example.test",
    }),
  );
  assert.deepEqual(lines(ready.stdout), [
    "ok ready for createAgentdHandler (Postgres, its own master key and admin token, channels by webhook); the platform's cron must call /tick every minute with the tick's secret",
  ]);
  const plain = await agentd(["doctor", "--data", dir], cleanEnv(telegram));
  assert.deepEqual(lines(plain.stdout), [], "no function line for `agentd start`'s environment");
});
