import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sessions } from "../src/sessions/store.ts";
import { ADMIN, served } from "./support/api.ts";
import { BACKENDS } from "./support/backends.ts";
import { startModelServer } from "./support/model-server.ts";

const PASSWORD = "s3cr3t-model-pass";
const QUERY_KEY = "qk-9f8e7d6c5b4a";

for (const b of BACKENDS) {
  describe(`health and the model endpoint's secrets (${b.name})`, () => {
    test("/health without a token says up or down only; the base URL's credentials reach no answer, log or conversation", async (t) => {
      const logs: string[] = [];
      const model = await startModelServer();
      t.after(() => model.close());
      // Node's fetch refuses a URL with credentials and quotes it in its error: the model call fails at once.
      const baseURL = `http://bob:${PASSWORD}@127.0.0.1:${new URL(model.url).port}/v1?api-key=${QUERY_KEY}`;
      const s = await served(t, b, {
        model,
        logger: (r) => void logs.push(JSON.stringify(r)),
        config: { modelRetry: { maxAttempts: 1 }, model: { id: "stand-in", apiKey: "test-key", baseURL } },
      });

      const anon = await s.call("GET", "/health", { token: null });
      assert.equal(anon.status, 200);
      assert.deepEqual(anon.body, { ok: true, status: "up" });
      const tenant = await s.call("GET", "/health");
      assert.deepEqual(tenant.body, { ok: true, status: "up" }, "a tenant key sees no more than anyone");
      const admin = await s.call("GET", "/health", { token: ADMIN });
      assert.equal(admin.body.status, "up");
      assert.equal(admin.body.store, b.name);
      assert.match(admin.body.version, /^\d+\.\d+\.\d+/);
      assert.equal(admin.body.model, `stand-in at http://127.0.0.1:${new URL(model.url).port}/v1`);
      assert.equal((await s.call("GET", "/health", { token: "wrong-token-123" })).status, 401);

      const r = await s.app.inbox.receive({ tenantId: s.tenantId, channel: "http", conversation: "c", text: "Hi" });
      await s.app.kernel.result(r.runId).catch(() => {});
      const run = await s.app.kernel.getRun(r.runId);
      const history = await sessions.history(s.app.tenants.scope(s.tenantId), r.session.id);
      const journal = await s.app.kernel.journal(r.runId);
      const metrics = await s.call("GET", "/metrics", { token: ADMIN });
      const seen = [JSON.stringify(run), JSON.stringify(history), JSON.stringify(journal), ...logs, admin.text, metrics.text].join("\n");
      assert.ok(logs.length > 0 && /credentials|model/i.test(seen), "the failed call was logged and recorded");
      for (const secret of [PASSWORD, QUERY_KEY, "bob:"]) assert.ok(!seen.includes(secret), `${secret} leaked: ${seen.slice(0, 2000)}`);
    });
  });
}
