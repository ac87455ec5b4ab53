// A bot's token belongs to one tenant bot in all of agentd: two adds of the same token racing each
// other (both past the lookup before either inserted) end with one bot and one 409.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { statusOf } from "../src/api/errors.ts";
import { AgentdError } from "../src/errors.ts";
import { testAgentd } from "./support/app.ts";
import { BACKENDS } from "./support/backends.ts";
import { startTelegramServer } from "./support/telegram-server.ts";

for (const b of BACKENDS) {
  describe(`tenant bot tokens (${b.name})`, () => {
    test("two adds of one token at once: one bot, one conflict, no secrets left behind by the loser", async (t) => {
      const tg = await startTelegramServer({ token: "3333333:CCbotCtokenSECRETvalue-cccccccc" });
      t.after(() => tg.close());
      const { app, tenantId } = await testAgentd(t, b, {
        config: { channels: { telegram: { apiRoot: tg.apiRoot } } },
        channelLog: () => {},
      });
      const other = await app.tenants.create("other", {});
      const bots = app.configuredChannels.telegramBots;
      const results = await Promise.allSettled([
        bots.create(tenantId, tg.token, "polling"),
        bots.create(other.id, tg.token, "polling"),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
      assert.ok(AgentdError.is(lost[0]!.reason) && statusOf(lost[0]!.reason) === 409, String(lost[0]!.reason));
      const rows = await app.db.all<{ tenant_id: string }>("SELECT tenant_id FROM os_channel_bots");
      assert.equal(rows.length, 1);
      const loser = rows[0]!.tenant_id === tenantId ? other.id : tenantId;
      assert.deepEqual(await app.vault.list(app.tenants.scope(loser)), [], "the losing add removed its vault entries");
    });
  });
}
