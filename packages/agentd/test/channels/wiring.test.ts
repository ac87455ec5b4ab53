// createAgentd wires the channels of its configuration: a program using agentd as a library gets the
// system `agentd start` runs, without building channels by hand.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createAgentd } from "../../src/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { startModelServer } from "../support/model-server.ts";
import { sentTo } from "../support/telegram-rig.ts";
import { startTelegramServer } from "../support/telegram-server.ts";
import { textUpdate } from "../support/telegram-updates.ts";
import { until } from "../support/wait.ts";

const EVE = { id: 777, is_bot: false, first_name: "Eve", username: "eve" };

for (const b of BACKENDS) {
  describe(`channels wired by createAgentd (${b.name})`, () => {
    test("a program calling createAgentd with a Telegram config gets the bot polled, paired and answering, with no channel built by hand", async (t) => {
      const tg = await startTelegramServer();
      t.after(() => tg.close());
      const model = await startModelServer();
      t.after(() => model.close());
      const removals: (() => unknown)[] = [];
      const place = b.place({ after: (fn) => void removals.push(fn) });
      const lines: string[] = [];
      const app = await createAgentd({
        env: {},
        config: {
          ...place,
          adminToken: "admin-test-token",
          model: { id: "stand-in", baseURL: model.url, apiKey: "test-key" },
          channels: { telegram: { botToken: tg.token, apiRoot: tg.apiRoot, botsRescanMs: 100 } },
        },
        logger: () => {},
        channelLog: (line) => lines.push(line),
      });
      t.after(async () => {
        await app.close();
        for (const remove of removals) await remove();
      });
      assert.deepEqual(app.configuredChannels.names, ["telegram (long polling)"]);
      await app.start();

      const tenant = await app.tenants.create("library", {});
      const { code } = await app.tenants.createPairingCode(tenant.id);
      tg.push(textUpdate(EVE, `/start ${code}`));
      await until(
        () => sentTo(tg, EVE.id).find((c) => /Paired/.test(c.params.text)),
        "the pairing answered through the polled bot",
      );
      tg.push(textUpdate(EVE, "from a library"));
      await until(
        () => sentTo(tg, EVE.id).find((c) => c.params.text === "ok: from a library"),
        "the turn's reply delivered through the bot",
      );
      assert.equal(await app.tenants.tenantOf("telegram", String(EVE.id)), tenant.id);
      // Every run ends before the store goes: a turn completes just after its reply is sent.
      for (const r of await app.kernel.listRuns({ limit: 100 })) await app.kernel.result(r.id).catch(() => {});
      assert.ok(!lines.join("\n").includes(tg.token), "the token is never logged");
    });
  });
}

test("createAgentd reads the channels from the environment as `agentd start` does", async (t) => {
  const tg = await startTelegramServer();
  t.after(() => tg.close());
  const removals: (() => unknown)[] = [];
  const place = BACKENDS[0]!.place({ after: (fn) => void removals.push(fn) });
  const app = await createAgentd({
    env: { TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRoot },
    config: { ...place, adminToken: "admin-test-token", model: { id: "none" } },
    logger: () => {},
    channelLog: () => {},
  });
  t.after(async () => {
    await app.close();
    for (const remove of removals) await remove();
  });
  assert.deepEqual(app.configuredChannels.names, ["telegram (long polling)"]);
  assert.equal(app.config.channels.telegram.apiRoot, tg.apiRoot);
  await app.start();
  tg.push(textUpdate(EVE, "hello?"));
  await until(() => sentTo(tg, EVE.id)[0], "the answer to someone unknown");
  assert.match(sentTo(tg, EVE.id)[0]!.params.text, /pairing code/);
  // /health says how the bot is reached, then what its Bot API calls said.
  const telegram = (await app.health.states()).find((x) => x.name === "telegram");
  assert.deepEqual(telegram, { name: "telegram", ok: true, detail: "long polling; the Bot API answers" });
});
