import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createAgentd } from "../src/app.ts";
import { serveApi } from "../src/api/index.ts";
import { quotas } from "../src/tenancy/quotas.ts";
import { served } from "./support/api.ts";
import { BACKENDS } from "./support/backends.ts";

type Served = Awaited<ReturnType<typeof served>>;

/** A second agentd process's worth (its own app, kernel and API server) on the same data, as another machine would run it. */
async function another(t: { after(fn: () => unknown): void }, s: Served) {
  const app = await createAgentd({
    env: {}, config: { ...s.place, adminToken: "admin-test-token", model: { id: "stand-in", baseURL: s.model.url, apiKey: "test-key" } }, tools: [], logger: () => {},
  });
  await app.start();
  const server = await serveApi(app, { host: "127.0.0.1", port: 0 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
    await app.close();
  };
  t.after(close);
  const post = async (text: string) => {
    const res = await fetch(`${server.url}/v1/messages`, {
      method: "POST", headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" }, body: JSON.stringify({ text, conversation: text }),
    });
    return { status: res.status, body: (await res.json()) as any, headers: res.headers };
  };
  return { app, post, close };
}

const post = (s: Served, text: string) => s.call("POST", "/v1/messages", { body: { text, conversation: text } });

for (const b of BACKENDS) {
  describe(`quotas counted in the store (${b.name})`, () => {
    test("runsPerMinute holds across two processes and a restart", async (t) => {
      const s = await served(t, b, { tenantSettings: { runsPerMinute: 3 } });
      const two = await another(t, s);
      assert.equal((await post(s, "one")).status, 202);
      assert.equal((await two.post("two")).status, 202);
      assert.equal((await post(s, "three")).status, 202);
      const refused = await two.post("four");
      assert.equal(refused.status, 429, "the other process counted the first three");
      assert.equal(refused.body.error.code, "rate_limited");
      const after = Number(refused.headers.get("retry-after"));
      assert.ok(after >= 1 && after <= 60, `Retry-After ${after}`);
      await two.close();
      const three = await another(t, s);
      assert.equal((await three.post("five")).status, 429, "a restarted process still counts them");
    });

    test("concurrentRuns: of twenty messages at once through two processes, exactly the limit start", async (t) => {
      const s = await served(t, b, { tenantSettings: { concurrentRuns: 3, runsPerMinute: 1000 } });
      s.model.fallback = () => ({ text: "slow answer", firstTokenDelayMs: 3_000 });
      const two = await another(t, s);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? two.post(`m${i}`) : post(s, `m${i}`))));
      assert.equal(answers.filter((a) => a.status === 202).length, 3, answers.map((a) => a.status).join(","));
      const refused = answers.find((a) => a.status === 429)!;
      assert.equal(refused.body.error.code, "too_many_runs");
      assert.match(refused.body.error.message, /3 runs in progress.*concurrentRuns setting is 3/);
      const accepted = answers.filter((a) => a.status === 202).map((a) => a.body.runId as string);
      for (const id of accepted) await s.app.kernel.result(id);
      assert.equal((await post(s, "after")).status, 202, "finished runs free their places");
    });

    test("the per-minute count expires with its minute; an admission a dead process left expires too", async (t) => {
      const s = await served(t, b);
      const scope = s.app.tenants.scope(s.tenantId);
      const none = async () => 0;
      const t0 = 1_700_000_000_000;
      await quotas.admit(scope, { runsPerMinute: 2, concurrentRuns: 10 }, t0, none);
      await quotas.admit(scope, { runsPerMinute: 2, concurrentRuns: 10 }, t0 + 30_000, none);
      await assert.rejects(quotas.admit(scope, { runsPerMinute: 2, concurrentRuns: 10 }, t0 + 59_000, none), (e: { retryAfterS: number }) => e.retryAfterS === 1);
      const next = await quotas.admit(scope, { runsPerMinute: 2, concurrentRuns: 10 }, t0 + 60_000, none);
      await next.release();
      // An admission is released once its run started; one a dead process left counts for 30 s, then expires.
      const t1 = t0 + 200_000;
      await quotas.admit(scope, { runsPerMinute: 100, concurrentRuns: 1 }, t1, none);
      await assert.rejects(quotas.admit(scope, { runsPerMinute: 100, concurrentRuns: 1 }, t1 + 10_000, none), /1 runs in progress/);
      const ok = await quotas.admit(scope, { runsPerMinute: 100, concurrentRuns: 1 }, t1 + 30_000, none);
      await ok.release();
    });
  });
}
