// `agentd webhooks` on a running agentd's store: add (the secret printed once), list, deliveries, remove.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { cli } from "../cli/run.ts";
import { served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { cleanEnv } from "../support/cli.ts";

for (const b of BACKENDS) {
  describe(`agentd webhooks (${b.name})`, () => {
    test("a webhook added from the CLI receives the turn's event; its deliveries are listed; remove, then not found", async (t) => {
      let received = 0;
      const rx = createServer((req, res) => {
        req.resume().on("end", () => {
          received++;
          res.end();
        });
      });
      await new Promise<void>((r) => rx.listen(0, "127.0.0.1", r));
      t.after(() => new Promise((r) => rx.close(r)));
      const host = `127.0.0.1:${(rx.address() as AddressInfo).port}`;
      const s = await served(t, b, { config: { net: { allowPrivate: false, allowHosts: [host] } } });
      const env = cleanEnv({
        AGENTD_DATA: s.place.dataDir,
        AGENTD_ALLOW_HOSTS: host,
        ...(s.place.databaseUrl ? { DATABASE_URL: s.place.databaseUrl } : {}),
        ...(s.place.pgSchema ? { AGENTD_PG_SCHEMA: s.place.pgSchema } : {}),
      });
      const T = ["--tenant", s.tenantId];

      const typo = await cli(env, "webhooks", "add", ...T, `http://${host}/x`, "--events", "turn.done");
      assert.equal(typo.code, 2);
      assert.match(typo.stderr, /--events takes turn.finished, approval.needed, run.failed/);
      const added = await cli(env, "webhooks", "add", ...T, `http://${host}/x`, "--events", "turn.finished");
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /^added webhook whk_\S+: turn.finished to http:\/\/127\.0\.0\.1:\d+\/x\n/);
      assert.match(added.stdout, /signing secret \(shown once[^)]*\): whsec_\S+\n$/);
      const listed = JSON.parse((await cli(env, "webhooks", ...T, "--json")).stdout).webhooks;
      assert.equal(listed.length, 1);
      const id = listed[0].id as string;
      assert.ok(!JSON.stringify(listed).includes("whsec_"), "never listed again");

      await s.call("POST", "/v1/messages", { body: { text: "Hello" } });
      await waitFor(() => received === 1, "the event");
      const table = await waitFor(async () => {
        const r = await cli(env, "webhooks", "deliveries", ...T, id);
        return r.stdout.includes("delivered") ? r.stdout : null;
      }, "the delivery listed");
      assert.match(table, /^DELIVERY\s+EVENT\s+STATUS\s+ATTEMPTS\s+LAST\s+UPDATED\n/);
      assert.match(table, /whd_\S+\s+turn\.finished\s+delivered\s+1\s+200\s/);

      assert.equal((await cli(env, "webhooks", "remove", ...T, id)).stdout, `removed webhook ${id}\n`);
      assert.match((await cli(env, "webhooks", ...T)).stdout, /^no webhooks for tenant /);
      const again = await cli(env, "webhooks", "remove", ...T, id);
      assert.equal(again.code, 3, again.stderr);
    });
  });
}
