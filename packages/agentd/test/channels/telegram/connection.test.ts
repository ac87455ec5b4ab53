import assert from "node:assert/strict";
import { test } from "node:test";
import { telegramChannel } from "../../../src/channels/telegram/index.ts";
import { BACKENDS } from "../../support/backends.ts";
import { startTelegramServer } from "../../support/telegram-server.ts";
import { until } from "../../support/wait.ts";
import { ADMIN, served } from "../../support/api.ts";
import { freePort } from "../../support/cli.ts";

test("an unreachable Bot API is logged at once with its cause, retried with a growing backoff, and shown down in /health and /metrics until it answers", async (t) => {
  const s = await served(t, BACKENDS[0]!);
  const port = await freePort();
  const token = "123456:TEST-token";
  const lines: string[] = [];
  const ch = telegramChannel(s.app.channelHost, {
    token,
    secretToken: "unused",
    apiRoot: `http://127.0.0.1:${port}`,
    log: (line) => lines.push(line),
  });
  t.after(() => ch.close());
  const ac = new AbortController();
  const started = Date.now();
  const loop = ch.poll(ac.signal);
  t.after(async () => {
    ac.abort();
    await loop;
  });
  await until(() => lines[0], "the first failure, logged at once");
  assert.ok(Date.now() - started < 5_000, "at once, not after grammY's silent retries");
  assert.match(
    lines[0]!,
    /^cannot reach the Bot API: Network request for 'getMe' failed! .*ECONNREFUSED.*; trying again in 500 ms \(failure 1 in a row\)$/,
  );
  assert.ok(!lines.join("\n").includes(token), "the token is never logged");
  const health = await s.call("GET", "/health", { token: ADMIN });
  assert.equal(health.body.status, "degraded");
  const component = health.body.components.find((c: { name: string }) => c.name === "telegram");
  assert.equal(component.ok, false);
  assert.match(component.detail, /^cannot reach the Bot API: .*ECONNREFUSED/);
  assert.ok(
    health.body.reasons.some((r: string) => /^telegram: cannot reach the Bot API: .*ECONNREFUSED/.test(r)),
    health.body.reasons.join("; "),
  );
  assert.match((await s.call("GET", "/metrics", { token: ADMIN })).text, /^agentd_component_up\{name="telegram"\} 0$/m);
  await until(() => lines[1], "the second try");
  assert.match(lines[1]!, /; trying again in 1 s \(failure 2 in a row\)$/, "the backoff grows");

  const tg = await startTelegramServer({ token, port });
  t.after(() => tg.close());
  await until(
    () => lines.find((l) => l.startsWith("the Bot API answers again")),
    "the channel up again once the Bot API answers",
  );
  assert.match(lines.at(-1)!, /^the Bot API answers again after \d+ failed tries$/);
  assert.match((await s.call("GET", "/metrics", { token: ADMIN })).text, /^agentd_component_up\{name="telegram"\} 1$/m);
  const again = await s.call("GET", "/health", { token: ADMIN });
  assert.deepEqual([again.body.status, again.body.reasons], ["up", []]);
});
