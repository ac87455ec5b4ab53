// The API's routes load on their first request (api/lazy-api.ts), not before `agentd start` listens:
// the server answers every path as before, the first requests included, and the order of the
// handlers changed nothing (the API serves none of the MCP endpoint's and the dashboard's paths).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { createApi } from "../../src/api/create.ts";
import { DASHBOARD_ROOTS } from "../../src/dashboard/mount.ts";
import { MCP_PATH } from "../../src/mcp-server/mount.ts";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS, sqlite } from "../support/backends.ts";
import { testAgentd } from "../support/app.ts";

const SRC = new URL("../../src/", import.meta.url);

test("starting to serve loads none of the API's routes nor its typed client; the first request loads the routes", () => {
  // A process of its own, so that no other test has loaded the modules already.
  const script = `
    import { registerHooks } from "node:module";
    const loaded = [];
    registerHooks({ load(url, ctx, next) { loaded.push(url); return next(url, ctx); } });
    const routes = () => loaded.filter((u) => /\\/api\\/(create|routes\\/|sub-apps|client\\.ts)|hono\\/dist\\/client/.test(u)).length;
    await import(${JSON.stringify(new URL("cli/start.ts", SRC).href)});
    const { createServer } = await import(${JSON.stringify(new URL("api/serve.ts", SRC).href)});
    const before = routes();
    // No agentd is needed to see what the first request imports (this stand-in makes it answer 500).
    await createServer({ config: {}, log: () => {}, warm: () => {} }, { dashboard: false }).request("/health");
    console.log(JSON.stringify({ before, after: routes() }));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
  assert.equal(
    out.before,
    0,
    "no route module (nor the typed client, which the MCP endpoint's path once came with) before the first request",
  );
  assert.ok(out.after > 10, `the routes loaded with the first request (${out.after})`);
});

test("the API serves no path of the MCP endpoint or the dashboard, so it may be matched after them", async (t) => {
  const ta = await testAgentd(t, sqlite);
  const roots = new Set<string>(DASHBOARD_ROOTS);
  const api = createApi(ta.app);
  for (const r of api.routes) {
    if (r.path === "/*" || r.path === "*") continue; // the API's own middleware on every path
    assert.notEqual(r.path, MCP_PATH, `${r.method} ${r.path}`);
    assert.ok(!roots.has(r.path.split("/")[1] ?? ""), `${r.method} ${r.path} is under a dashboard root`);
  }
});

for (const b of BACKENDS)
  test(`the first requests, at once, to a server that just listens: each answered as the API answers (${b.name})`, async (t) => {
    const s = await served(t, b);
    const asked: [string, string, { token?: string | null; raw?: string }][] = [
      ["GET", "/health", { token: null }],
      ["GET", "/v1/runs", {}],
      ["GET", "/v1/runs", { token: "wrong-token-0123456789" }],
      ["GET", "/v1/tenants", { token: ADMIN }],
      ["POST", "/v1/tenants", { token: ADMIN, raw: "{not json" }],
      ["GET", "/openai/v1/models", {}],
      ["GET", "/nowhere", {}],
      ...Array.from({ length: 10 }, (): [string, string, object] => ["GET", "/v1/runs", {}]),
    ];
    const calls = await Promise.all(asked.map(([m, path, o]) => s.call(m, path, o)));
    // The same requests to the API built in this process, as before.
    const api = createApi(s.app);
    for (const [i, [method, path, o]] of asked.entries()) {
      const token = o.token === undefined ? s.key : o.token;
      const res = await api.request(path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
        ...(o.raw ? { body: o.raw } : {}),
      });
      assert.equal(calls[i]?.status, res.status, `${method} ${path}: ${calls[i]?.text.slice(0, 200)}`);
    }
    assert.deepEqual(
      calls.slice(0, 7).map((c) => c.status),
      [200, 200, 401, 200, 400, 200, 404],
    );
    assert.equal(calls[6]?.body.error.code, "not_found");
  });
