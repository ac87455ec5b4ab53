import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createAgentd } from "../../src/app.ts";
import type { NetPolicy } from "../../src/net/policy.ts";
import { webhooks } from "../../src/webhooks/store.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { startModelServer } from "../support/model-server.ts";
import { until } from "../support/wait.ts";
import { receiver } from "./receiver.ts";

/**
 * The webhooks a turn's reply tells are read with the reply (in its statement on Postgres), not
 * cached: one added or removed by another process, even while the turn runs, is honoured.
 */
for (const b of BACKENDS) {
  describe(`webhooks told of a turn's reply, as stored when it finished (${b.name})`, () => {
    test("added by another process during the model call: told; removed by it before a turn's end: not told", async (t) => {
      const rx = await receiver(t);
      const net: NetPolicy = { allowPrivate: false, allowHosts: [rx.host] };
      // Slow enough that the webhook is added while the reply is being written.
      const model = await startModelServer({ tokenDelayMs: 40 });
      t.after(() => model.close());
      const { app, place, tenantId } = await testAgentd(t, b, { model, config: { net } });
      const other = await createAgentd({
        env: {},
        config: { ...place, net, model: { id: "stand-in", baseURL: model.url, apiKey: "k" } },
        worker: false,
        logger: () => {},
      });
      t.after(() => other.close());
      const scope = app.tenants.scope(tenantId);
      const deliveries = async (hookId: string) => (await webhooks.deliveries(scope, hookId, 10)).map((d) => d.event);

      model.script({ text: "a slow answer of several tokens, streamed one by one" });
      const first = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "one" });
      await until(() => model.calls === 1, "the model is asked");
      const { webhook } = await other.webhooks.add(tenantId, rx.url, ["turn.finished"]);
      await app.kernel.result(first.runId);
      assert.deepEqual(await deliveries(webhook.id), ["turn.finished"], "the webhook added mid-turn is told");
      await until(() => rx.got.length === 1, "posted");

      assert.equal(await other.webhooks.remove(tenantId, webhook.id), true);
      const { webhook: kept } = await other.webhooks.add(tenantId, rx.url, ["turn.finished"]);
      model.script({ text: "two" });
      const second = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "two" });
      await app.kernel.result(second.runId);
      assert.deepEqual(await deliveries(webhook.id), [], "the removed one is not told");
      assert.deepEqual(await deliveries(kept.id), ["turn.finished"]);
      await until(() => rx.got.length === 2, "posted");
      assert.equal(JSON.parse(rx.got[1]!.body).data.text, "two");
    });
  });
}
