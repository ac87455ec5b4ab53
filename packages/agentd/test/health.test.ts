import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createAgentd } from "../src/app.ts";
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
      const seen = [
        JSON.stringify(run),
        JSON.stringify(history),
        JSON.stringify(journal),
        ...logs,
        admin.text,
        metrics.text,
      ].join("\n");
      assert.ok(logs.length > 0 && /credentials|model/i.test(seen), "the failed call was logged and recorded");
      for (const secret of [PASSWORD, QUERY_KEY, "bob:"])
        assert.ok(!seen.includes(secret), `${secret} leaked: ${seen.slice(0, 2000)}`);
    });

    test("an API-only process with no live worker: /health degrades and says why, a waiting stream is told, metrics count workers", async (t) => {
      const s = await served(t, b, { worker: false, noModel: true });
      const up = await s.call("GET", "/health", { token: ADMIN });
      assert.equal(up.body.status, "up", "nothing is due yet");
      assert.equal(up.body.workers.live, 0);
      assert.doesNotMatch(up.body.model, /no model/, "the model is the workers' business here");

      // A client streaming its reply hears at once why nothing comes.
      const res = await fetch(`${s.url}/v1/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.key}`, accept: "text/event-stream", "content-type": "application/json" },
        body: JSON.stringify({ text: "anyone there?" }),
      });
      const reader = res.body!.getReader();
      let text = "";
      while (!text.includes("event: waiting")) {
        const { value, done } = await reader.read();
        assert.ok(!done, `the stream ended before saying why: ${text}`);
        text += new TextDecoder().decode(value);
      }
      await reader.cancel();
      const waiting = JSON.parse(/event: waiting\ndata: (.*)\n/.exec(text)![1]!);
      assert.equal(waiting.code, "no_worker");
      assert.match(waiting.message, /agentd worker/);

      const degraded = await s.call("GET", "/health", { token: ADMIN });
      assert.equal(degraded.status, 200, "degraded still serves: messages are kept");
      assert.equal(degraded.body.status, "degraded");
      assert.equal(degraded.body.runsDue, 1);
      // /health counts the due runs alone (by index): counting every run by status is /metrics' work.
      const asked: unknown[] = [];
      const count = s.app.store.countRuns.bind(s.app.store);
      s.app.store.countRuns = (now, opts) => (asked.push(opts), count(now, opts));
      assert.equal((await s.call("GET", "/health", { token: ADMIN })).body.runsDue, 1);
      assert.deepEqual(asked, [{ byStatus: false }]);
      assert.deepEqual(await count(s.app.kernel.clock.now(), { byStatus: false }), { byStatus: {}, due: 1 });
      assert.match((await s.call("GET", "/metrics", { token: ADMIN })).text, /^agentd_runs\{status="pending"\} 1$/m);
      assert.match(degraded.body.reasons.join(" "), /1 run\(s\) are due and no worker is running.*agentd worker/);
      assert.deepEqual((await s.call("GET", "/health", { token: null })).body, { ok: false, status: "degraded" });
      assert.match((await s.call("GET", "/metrics", { token: ADMIN })).text, /^agentd_workers_live 0$/m);

      // A worker on the same store: the turn is answered and health is up again.
      const worker = await createAgentd({
        env: {},
        logger: () => {},
        config: { ...s.place, adminToken: ADMIN, model: { id: "stand-in", baseURL: s.model.url, apiKey: "test-key" } },
      });
      t.after(() => worker.close());
      s.model.script({ text: "Here." });
      await worker.start();
      const runs = await worker.kernel.listRuns({});
      await worker.kernel.result(runs[0]!.id);
      const again = await s.call("GET", "/health", { token: ADMIN });
      assert.equal(again.body.status, "up");
      assert.equal(again.body.workers.live, 1);
      assert.match((await s.call("GET", "/metrics", { token: ADMIN })).text, /^agentd_workers_live 1$/m);

      // The port channels report through: a component down degrades health and names it.
      const remove = s.app.health.add("telegram", () => ({
        ok: false,
        detail: "the Bot API does not answer (ECONNREFUSED); retrying every 30 s",
      }));
      const down = await s.call("GET", "/health", { token: ADMIN });
      assert.equal(down.body.status, "degraded");
      assert.deepEqual(down.body.components, [
        { name: "telegram", ok: false, detail: "the Bot API does not answer (ECONNREFUSED); retrying every 30 s" },
      ]);
      assert.match(
        (await s.call("GET", "/metrics", { token: ADMIN })).text,
        /^agentd_component_up\{name="telegram"\} 0$/m,
      );
      remove();
      assert.equal((await s.call("GET", "/health", { token: ADMIN })).body.status, "up");
    });
  });
}
