// Tenants' own Telegram bots at work: pairing and turns through a bot's webhook, delivering with its own token.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createAgentd } from "../../../src/app.ts";
import { botChannel } from "../../../src/channels/telegram/bots.ts";
import { sessions } from "../../../src/sessions/store.ts";
import { UNPAIRED_REPLY } from "../../../src/sessions/inbox.ts";
import { ADMIN } from "../../support/api.ts";
import { BACKENDS } from "../../support/backends.ts";
import { sentTo } from "../../support/telegram-rig.ts";
import { until } from "../../support/wait.ts";
import { ALICE, TOKEN_A, TOKEN_B, settle, telegramBotsRig } from "../../support/telegram-bots-rig.ts";
import { textUpdate } from "../../support/telegram-updates.ts";

for (const b of BACKENDS) {
  describe(`tenant telegram bots (${b.name})`, () => {
    const setup = (t: { after(fn: () => unknown): void }, opts?: { publicUrl?: boolean }) =>
      telegramBotsRig(t, b, opts);

    test("pairing and a turn through a tenant bot: the reply goes out with that bot's token; another bot's secret is 401", async (t) => {
      const s = await setup(t);
      const a = (await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } })).body.id as string;
      const bb = (await s.call("POST", "/v1/channels/telegram", { key: s.keyB, body: { token: TOKEN_B } })).body
        .id as string;
      const secretA = s.tgA.webhook!.secret_token!;
      const secretB = s.tgB.webhook!.secret_token!;
      assert.notEqual(secretA, secretB);

      // Bot B's secret on bot A's URL, none, or an unknown bot: refused before anything is read.
      assert.equal((await s.hook(a, textUpdate(ALICE, "hi"), secretB)).status, 401);
      assert.equal((await s.hook(a, textUpdate(ALICE, "hi"), null)).status, 401);
      assert.equal((await s.hook("tgb_00000000000000000000", textUpdate(ALICE, "hi"), secretA)).status, 404);
      assert.equal((await s.hook("not-a-bot", textUpdate(ALICE, "hi"), secretA)).status, 404);
      assert.equal(s.tgA.callsOf("sendMessage").length + s.tgB.callsOf("sendMessage").length, 0);

      // Unknown sender: instructions, through bot A.
      assert.equal((await s.hook(a, textUpdate(ALICE, "hello?"), secretA)).status, 200);
      assert.deepEqual(
        sentTo(s.tgA, ALICE.id).map((c) => c.params.text),
        [UNPAIRED_REPLY],
      );
      // A code of the other tenant sent to tenant A's bot does not pair.
      const foreign = await s.app.tenants.createPairingCode(s.other.id);
      assert.equal((await s.hook(a, textUpdate(ALICE, `/start ${foreign.code}`), secretA)).status, 200);
      assert.match(sentTo(s.tgA, ALICE.id).at(-1)!.params.text, /unknown, used or expired/);
      assert.equal(await s.app.tenants.tenantOf(botChannel(a), String(ALICE.id)), null);
      // Its own code pairs, under the bot's own channel only.
      const { code } = await s.app.tenants.createPairingCode(s.tenantId);
      assert.equal((await s.hook(a, textUpdate(ALICE, `/start ${code}`), secretA)).status, 200);
      assert.match(sentTo(s.tgA, ALICE.id).at(-1)!.params.text, /Paired/);
      assert.equal(await s.app.tenants.tenantOf(botChannel(a), String(ALICE.id)), s.tenantId);
      assert.equal(await s.app.tenants.tenantOf("telegram", String(ALICE.id)), null);
      assert.equal(await s.app.tenants.tenantOf(botChannel(bb), String(ALICE.id)), null);

      assert.equal((await s.hook(a, textUpdate(ALICE, "what's up"), secretA)).status, 200);
      await until(
        () => sentTo(s.tgA, ALICE.id).find((c) => /ok: what's up|ok: what&#39;s up/.test(c.params.text)),
        "the reply through bot A",
      );
      assert.equal(s.tgB.callsOf("sendMessage").length, 0, "nothing went through bot B");
      const session = await sessions.latest(s.app.tenants.scope(s.tenantId));
      assert.equal(session?.channel, botChannel(a));

      // The same person pairs with the other tenant's bot too: two tenants, two bots, no mixing.
      const codeB = await s.app.tenants.createPairingCode(s.other.id);
      assert.equal((await s.hook(bb, textUpdate(ALICE, `/start ${codeB.code}`), secretB)).status, 200);
      assert.equal(await s.app.tenants.tenantOf(botChannel(bb), String(ALICE.id)), s.other.id);
      assert.equal(await s.app.tenants.tenantOf(botChannel(a), String(ALICE.id)), s.tenantId);
      for (const line of s.logs) assert.ok(!line.includes(TOKEN_A) && !line.includes(TOKEN_B), line);
      await settle(s.app);
    });

    test("a process started after the bot was added delivers through it (the resolver finds it in the store)", async (t) => {
      const s = await setup(t);
      const id = (await s.call("POST", "/v1/channels/telegram", { body: { token: TOKEN_A } })).body.id as string;
      // A worker process (executes runs, serves no API), wired from its configuration.
      const app2 = await createAgentd({
        env: {},
        config: {
          ...s.place,
          adminToken: ADMIN,
          model: { id: "none" },
          channels: { telegram: { apiRoot: s.apiRoot } },
        },
        api: false,
        logger: () => {},
      });
      t.after(() => app2.close());
      const scope = app2.tenants.scope(s.tenantId);
      const session = await sessions.open(scope, botChannel(id), String(ALICE.id), Date.now());
      await app2.channels.deliver({
        tenantId: s.tenantId,
        session,
        kind: "notice",
        text: "hello from the second process",
        key: "notice:test:1",
      });
      assert.ok(sentTo(s.tgA, ALICE.id).find((c) => c.params.text === "hello from the second process"));
      assert.equal(await app2.channels.adapter("telegram:tgb_00000000000000000000"), null);
      assert.equal(await app2.channels.adapter("telegram"), null, "the deployment's channel is not a tenant bot");
    });
  });
}
