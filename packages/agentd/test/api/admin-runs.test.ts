// The operator's runs list across tenants (GET /v1/admin/runs): every tenant's runs, newest first,
// paged by the keyset cursor with none skipped or repeated, filtered, each error redacted with its
// own tenant's secrets; a tenant key is refused.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock, FatalError } from "@agentd/kernel";
import { ADMIN, served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";

for (const b of BACKENDS) {
  describe(`the operator's runs list (${b.name})`, () => {
    test("pages through every tenant's runs (same milliseconds included), filters, and refuses a tenant key", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 11, 6, 12, 0));
      const s = await served(t, b, { clock, worker: false });
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      const owner = new Map<string, string>();
      for (let i = 0; i < 9; i++) {
        const tenant = i % 2 ? other.body.tenant.id : s.tenantId;
        const workflow = i % 3 ? "agent.reminder" : "agent.turn";
        const r = await s.app.kernel.start(workflow, { i }, { namespace: tenant, key: `k${i}` });
        owner.set(r.id, tenant);
        if (i % 4 === 3) await clock.advance(1);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let last = Number.POSITIVE_INFINITY;
      for (let pages = 0; pages < 10; pages++) {
        const page = await s.call("GET", `/v1/admin/runs?limit=2${cursor ? `&cursor=${cursor}` : ""}`, {
          token: ADMIN,
        });
        assert.equal(page.status, 200, page.text);
        for (const r of page.body.runs) {
          assert.equal(r.tenantId, owner.get(r.id), "each row says whose run it is");
          assert.ok(r.createdAt <= last, "newest first");
          assert.equal(r.input, undefined, "no input in the list");
          last = r.createdAt;
          seen.push(r.id);
        }
        cursor = page.body.next;
        if (!cursor) break;
      }
      assert.equal(seen.length, 9, "every run once");
      assert.deepEqual(new Set(seen), new Set(owner.keys()));

      const theirs = await s.call("GET", `/v1/admin/runs?tenant=${other.body.tenant.id}`, { token: ADMIN });
      assert.equal(theirs.body.runs.length, 4);
      const turns = await s.call("GET", "/v1/admin/runs?workflow=agent.turn&status=pending", { token: ADMIN });
      assert.equal(turns.body.runs.length, 3);
      assert.ok(turns.body.runs.every((r: { workflow: string }) => r.workflow === "agent.turn"));

      const [someId, someTenant] = [...owner][5] as [string, string];
      const found = await s.call("GET", `/v1/admin/runs?id=${someId}`, { token: ADMIN });
      assert.deepEqual(
        found.body.runs.map((r: { id: string; tenantId: string }) => [r.id, r.tenantId]),
        [[someId, someTenant]],
      );
      const none = await s.call("GET", "/v1/admin/runs?id=01900000-0000-7000-8000-000000000000", { token: ADMIN });
      assert.deepEqual(none.body, { runs: [], next: null });
      const badId = await s.call("GET", "/v1/admin/runs?id=not-a-run", { token: ADMIN });
      assert.equal(badId.status, 400);
      assert.match(badId.body.error.message, /a run id is a UUID/);

      assert.equal((await s.call("GET", "/v1/admin/runs")).status, 403, "a tenant key reaches its own runs only");
      const bad = await s.call("GET", "/v1/admin/runs?cursor=yesterday", { token: ADMIN });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /cursor/);
      const badStatus = await s.call("GET", "/v1/admin/runs?status=lost", { token: ADMIN });
      assert.equal(badStatus.status, 400);
      assert.match(badStatus.body.error.message, /unknown status "lost"/);
    });

    test("a failed run's error is redacted with its own tenant's secrets", async (t) => {
      const s = await served(t, b);
      const secret = "sk-live-9f8e7d6c5b4a3210";
      assert.equal((await s.call("PUT", "/v1/secrets/shop", { body: { value: secret } })).status, 204);
      s.app.channels.register({
        channel: "leaky",
        async deliver() {
          throw new FatalError(`the shop refused key ${secret}`);
        },
      });
      const r = await s.app.inbox.receive({ tenantId: s.tenantId, channel: "leaky", conversation: "c", text: "hi" });
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${r.runId}`)).body.status === "failed",
        "the run to fail",
      );
      const list = await s.call("GET", "/v1/admin/runs?status=failed", { token: ADMIN });
      assert.equal(list.status, 200);
      assert.equal(list.body.runs.length, 1);
      assert.match(list.body.runs[0].error.message, /the shop refused key/);
      assert.ok(!list.text.includes(secret), "the secret never leaves");
    });
  });
}
