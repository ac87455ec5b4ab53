// examples/vercel as .ci/run builds it with the real `next`: `next start` on 127.0.0.1, its one route
// serving agentd at the root's paths (rewritten to /api), the tick behind its secret, and a Telegram
// webhook whose turn runs after the answer through Next's `after`, with no tick.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { test } from "node:test";
import { createAgentd } from "../../src/app.ts";
import { pgUrl } from "../support/backends.ts";
import { sentTo } from "../support/telegram-rig.ts";
import { textUpdate } from "../support/telegram-updates.ts";
import { until } from "../support/wait.ts";
import { functionRig, HOOK_SECRET, TICK_SECRET } from "./rig.ts";

const EXAMPLE = new URL("../../../../examples/vercel/", import.meta.url).pathname;
const built = existsSync(`${EXAMPLE}.next/BUILD_ID`);
const ALICE = { id: 4301, is_bot: false, first_name: "Alice", username: "alice" };

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

test("the Next.js example serves agentd: the API at the root, the tick behind its secret, a webhook's turn run by after()", {
  skip: !pgUrl
    ? "no Postgres (set DATABASE_URL)"
    : !built
      ? "examples/vercel is not built: cd examples/vercel && npm ci && npx next build (.ci/run does)"
      : false,
}, async (t) => {
  const { env, tg, model } = await functionRig(t);
  // The schema and a tenant with a paired person, made by the operator before the deployment serves.
  const op = await createAgentd({ env, worker: false, api: false, channelLog: () => {}, logger: () => {} });
  t.after(() => op.close());
  const tenant = await op.tenants.create("vercel", {});
  const port = await freePort();
  const server: ChildProcess = spawn(
    process.execPath,
    [`${EXAMPLE}node_modules/next/dist/bin/next`, "start", "-H", "127.0.0.1", "-p", String(port)],
    { cwd: EXAMPLE, env: { ...env, PATH: process.env.PATH ?? "", NEXT_TELEMETRY_DISABLED: "1" }, stdio: "pipe" },
  );
  let out = "";
  server.stdout?.on("data", (b: Buffer) => (out += b));
  server.stderr?.on("data", (b: Buffer) => (out += b));
  t.after(() => server.kill("SIGKILL"));
  const base = `http://127.0.0.1:${port}`;
  await until(
    () =>
      fetch(`${base}/api/health`)
        .then((r) => r.status === 200)
        .catch(() => false),
    `next start: ${out}`,
    60_000,
  );

  assert.equal((await fetch(`${base}/health`)).status, 200, "the root's paths reach agentd");
  const tenants = await fetch(`${base}/v1/tenants`, { headers: { authorization: `Bearer ${env.AGENTD_ADMIN_TOKEN}` } });
  assert.equal(tenants.status, 200);
  assert.equal((await fetch(`${base}/tick`)).status, 401, "the tick refuses a call without the secret");
  const tick = await fetch(`${base}/api/tick`, { headers: { authorization: `Bearer ${TICK_SECRET}` } });
  assert.equal(tick.status, 200, "vercel.json's cron path");
  assert.ok("drain" in ((await tick.json()) as object));

  const { code } = await op.tenants.createPairingCode(tenant.id);
  const hook = (text: string) =>
    fetch(`${base}/channels/telegram`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": HOOK_SECRET },
      body: JSON.stringify(textUpdate(ALICE, text)),
    });
  assert.equal((await hook(`/start ${code}`)).status, 200);
  model.script({ text: "Hello from Next.js." });
  assert.equal((await hook("hi")).status, 200);
  await until(
    () => sentTo(tg, ALICE.id).some((c) => c.params.text === "Hello from Next.js."),
    `the reply, sent after the answer with no tick: ${out}`,
    60_000,
  );
});
