// Tenants' own Telegram bots served by long polling: one poller per store, taken over when it stops.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createAgentd } from "../../../src/app.ts";
import { advisoryLock, soleProcess, superviseTenantPolling } from "../../../src/channels/telegram/bot-polling.ts";
import { botChannel } from "../../../src/channels/telegram/bots.ts";
import { UNPAIRED_REPLY } from "../../../src/sessions/inbox.ts";
import { ADMIN } from "../../support/api.ts";
import { BACKENDS, pgUrl } from "../../support/backends.ts";
import { testAgentd } from "../../support/app.ts";
import { startTelegramServer } from "../../support/telegram-server.ts";
import { sentTo } from "../../support/telegram-rig.ts";
import { until } from "../../support/wait.ts";
import { ALICE, BOB, TOKEN_A, TOKEN_B, settle, telegramBotsRig } from "../../support/telegram-bots-rig.ts";
import { textUpdate } from "../../support/telegram-updates.ts";

for (const b of BACKENDS) {
  describe(`tenant telegram bots (${b.name})`, () => {
    const setup = (t: { after(fn: () => unknown): void }, opts?: { publicUrl?: boolean }) =>
      telegramBotsRig(t, b, opts);

    test("polling mode: a worker's supervisor polls the bot, answers through it, and lets go once it is removed", async (t) => {
      const s = await setup(t, { publicUrl: false });
      const id = (await s.call("POST", "/v1/channels/telegram", { key: s.keyB, body: { token: TOKEN_B } })).body
        .id as string;
      const stop = new AbortController();
      const bots = s.app.configuredChannels.telegramBots;
      const done = superviseTenantPolling(bots, stop.signal, {
        lock: soleProcess,
        rescanMs: 50,
        log: (l) => s.logs.push(l),
      });
      t.after(async () => {
        stop.abort();
        await done;
      });
      const { code } = await s.app.tenants.createPairingCode(s.other.id);
      s.tgB.push(textUpdate(BOB, `/start ${code}`));
      await until(
        () => sentTo(s.tgB, BOB.id).find((c) => /Paired/.test(c.params.text)),
        "pairing through the polled bot",
      );
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

test("one poller per store on Postgres: a second process does not get the lock until the first lets go", {
  skip: pgUrl ? false : "no Postgres",
}, async () => {
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

test("on Postgres, when the polling worker stops, another worker of the store takes the bot over", {
  skip: pgUrl ? false : "no Postgres",
}, async (t) => {
  const { postgres } = await import("../../support/backends.ts");
  const tg = await startTelegramServer({ token: TOKEN_A });
  t.after(() => tg.close());
  const env = await testAgentd(t, postgres, {
    config: { channels: { telegram: { apiRoot: tg.apiRoot } } },
    channelLog: () => {},
  });
  const first = env.app;
  const bots1 = first.configuredChannels.telegramBots;
  const bot = await bots1.create(env.tenantId, TOKEN_A, "polling");
  const second = await createAgentd({
    env: {},
    config: { ...env.place, adminToken: ADMIN, model: { id: "none" }, channels: { telegram: { apiRoot: tg.apiRoot } } },
    worker: false,
    logger: () => {},
    channelLog: () => {},
  });
  t.after(() => second.close());
  const bots2 = second.configuredChannels.telegramBots;
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
  await until(
    () => sentTo(tg, BOB.id).find((c) => c.params.text === UNPAIRED_REPLY),
    "an answer once the second worker took over",
    10_000,
  );
  assert.equal(await second.tenants.tenantOf(botChannel(bot.id), String(ALICE.id)), env.tenantId);
  stop2.abort();
  await done2;
});
