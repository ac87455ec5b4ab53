// A webhook delivery waiting for its next attempt survives agentd stopping: the next agentd on the
// same store sends that attempt when its backoff is due, with the same webhook-id, signed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock } from "@agentd/kernel";
import { type Agentd, createAgentd } from "../../src/app.ts";
import { webhooks } from "../../src/webhooks/store.ts";
import { verify } from "../../src/webhooks/sign.ts";
import { waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { type Received, receiver } from "./receiver.ts";

const START = Date.UTC(2026, 11, 7, 9, 0);

for (const b of BACKENDS) {
  describe(`outgoing webhooks across a restart (${b.name})`, () => {
    test("a delivery whose first attempt failed is retried by the next agentd on the store, 10 s later on its clock", async (t) => {
      const rx = await receiver(t);
      rx.statuses.push(500);
      const { got, host } = rx;

      // The place outlives both agentds: removed after the last one is closed.
      const removals: (() => unknown)[] = [];
      const place = b.place({ after: (fn) => void removals.push(fn) });
      let open: Agentd | null = null;
      t.after(async () => {
        await open?.close();
        for (const remove of removals) await remove();
      });
      const start = async () => {
        const app = await createAgentd({
          env: {},
          config: {
            ...place,
            adminToken: "admin-test-token",
            model: { id: "none" },
            net: { allowPrivate: false, allowHosts: [host] },
          },
          clock: new FakeClock(START),
          logger: () => {},
        });
        open = app;
        await app.start({ channels: false });
        return app;
      };

      const first = await start();
      const tenantId = (await first.tenants.create("acme", {})).id;
      const { webhook, secret } = await first.webhooks.add(tenantId, `http://${host}/hook`, ["turn.finished"]);
      assert.equal(await first.webhooks.emit(tenantId, "turn.finished", "reply:run-1", { text: "hi" }), 1);
      const scope = first.tenants.scope(tenantId);
      const [pending] = await waitFor(async () => {
        const list = await webhooks.deliveries(scope, webhook.id, 10);
        if (list[0]?.attempts !== 1) return null;
        const run = (await first.kernel.listRuns({ namespace: tenantId, workflow: "webhook.deliver" }))[0];
        return run?.status === "suspended" && run.wakeAt !== null ? list : null;
      }, "the first attempt recorded and the second one due");
      assert.equal(got.length, 1);
      await first.close();
      open = null;

      const second = await start();
      assert.equal(got.length, 1, "not before its backoff");
      await (second.kernel.clock as FakeClock).advance(10_000);
      const [done] = await waitFor(async () => {
        const list = await webhooks.deliveries(second.tenants.scope(tenantId), webhook.id, 10);
        return list[0]?.status === "delivered" ? list : null;
      }, "the delivery, by the second agentd");
      assert.deepEqual([done?.id, done?.attempts, done?.lastStatus], [pending?.id, 2, 200]);
      assert.equal(got.length, 2);
      assert.deepEqual(
        got.map((r) => r.headers["webhook-id"]),
        [pending?.id, pending?.id],
        "the same id on both attempts: a receiver drops what it has seen",
      );
      const last = got[1] as Received;
      const ts = Number(last.headers["webhook-timestamp"]);
      assert.equal(ts, START / 1000 + 10, "signed at the second attempt's time");
      assert.ok(
        verify(
          secret,
          { id: String(pending?.id), timestamp: String(ts), signature: String(last.headers["webhook-signature"]) },
          last.body,
          ts,
        ),
      );
      assert.equal(JSON.parse(last.body).data.text, "hi");
    });
  });
}
