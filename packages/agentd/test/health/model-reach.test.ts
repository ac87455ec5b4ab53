// The overview's model check: the endpoint's free model list, asked with the key, cached (a reload
// does not ask again), never a completion; refused keys, missing models and dead endpoints said
// plainly without the key or the base URL's credentials; GET /v1/model is the operator's.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import { modelReachability } from "../../src/health/model-reach.ts";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { startModelServer } from "../support/model-server.ts";

const KEY = "sk-test-0123456789abcdef";

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("model reachability", () => {
  test("reachable: asked once per minute (callers at once share one request), never a completion", async (t) => {
    const server = await startModelServer({ apiKey: KEY });
    t.after(() => server.close());
    let now = 1_000_000;
    const check = modelReachability({ id: "mock-model", baseURL: server.url, apiKey: KEY }, { now: () => now });
    const [a, b] = await Promise.all([check(), check()]);
    assert.equal(a.state, "reachable", a.detail);
    assert.equal(a, b);
    assert.match(
      a.detail,
      /mock-model at http:\/\/127\.0\.0\.1:\d+\/v1 answers and accepts the key, and lists the model/,
    );
    assert.equal(typeof a.latencyMs, "number");
    assert.equal(a.checkedAt, now);
    assert.equal(server.requests.length, 1, "one request for both");
    now += 59_000;
    assert.equal((await check()).checkedAt, 1_000_000, "cached within the minute");
    assert.equal(server.requests.length, 1);
    now += 2000;
    assert.equal((await check()).checkedAt, now, "asked again after it");
    assert.equal(server.requests.length, 2);
    assert.deepEqual(
      server.requests.map((r) => r.path),
      ["/v1/models", "/v1/models"],
    );
    assert.equal(server.calls, 0, "no completion, no tokens spent");
  });

  test("a refused key, a model it does not list, a dead endpoint: said plainly, no secret in the words", async (t) => {
    const server = await startModelServer({ apiKey: KEY });
    t.after(() => server.close());
    let now = 5_000_000;
    const wrong = "sk-wrong-key-fedcba9876";
    const refused = await modelReachability(
      { id: "mock-model", baseURL: server.url, apiKey: wrong },
      { now: () => now },
    )();
    assert.equal(refused.state, "refused");
    assert.match(refused.detail, /refuses the API key \(HTTP 401\): check OPENAI_API_KEY/);
    assert.ok(!refused.detail.includes(wrong));

    const missing = await modelReachability({ id: "gpt-9", baseURL: server.url, apiKey: KEY }, { now: () => now })();
    assert.equal(missing.state, "missing");
    assert.match(missing.detail, /does not list gpt-9: set AGENTD_MODEL/);

    const port = await deadPort();
    const dead = modelReachability(
      { id: "mock-model", baseURL: `http://127.0.0.1:${port}/v1?api-key=q-secret-1234`, apiKey: KEY },
      { now: () => now },
    );
    const down = await dead();
    assert.equal(down.state, "unreachable");
    assert.match(down.detail, /does not answer: connection refused .*AGENTD_MODEL_BASE_URL/);
    const userinfo = await modelReachability(
      { id: "mock-model", baseURL: `http://user:hunter2pass@127.0.0.1:${port}/v1`, apiKey: KEY },
      { now: () => now },
    )();
    assert.equal(userinfo.state, "unreachable");
    for (const secret of ["hunter2pass", "q-secret-1234", KEY])
      for (const r of [down, userinfo]) assert.ok(!r.detail.includes(secret), r.detail);
    // A failure is asked again after ten seconds, not a minute: a fixed endpoint shows up soon.
    now += 11_000;
    assert.notEqual((await dead()).checkedAt, down.checkedAt);

    assert.equal((await modelReachability({ id: "echo" }, { now: () => now })()).state, "builtin");
    const none = await modelReachability({ id: "gpt-4o-mini" }, { now: () => now })();
    assert.equal(none.state, "unchecked");
    assert.match(none.detail, /no model is configured/);
  });

  for (const b of BACKENDS)
    test(`GET /v1/model: the operator's, with the endpoint named and the key never shown (${b.name})`, async (t) => {
      const s = await served(t, b);
      const res = await s.call("GET", "/v1/model", { token: ADMIN });
      assert.equal(res.status, 200, res.text);
      // The test agentd asks for "stand-in", which the stand-in does not list: said, not hidden.
      assert.equal(res.body.state, "missing");
      assert.match(res.body.model, /stand-in at http:\/\/127\.0\.0\.1/);
      assert.ok(!res.text.includes("test-key"), "never the key");
      assert.equal((await s.call("GET", "/v1/model")).status, 403, "a tenant key does not see the deployment's model");
    });
});
