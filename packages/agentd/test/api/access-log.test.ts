// The access log of `agentd start` / `serve`: one line per request, with its tenant, never a secret.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LogRecord } from "@agentd/kernel";
import { serveApi } from "../../src/api/index.ts";
import { loadConfig } from "../../src/config.ts";
import { testAgentd } from "../support/app.ts";
import { sqlite } from "../support/backends.ts";

test("one info line per request: method, path without its query, status, ms, tenant; no token, query or handoff secret", async (t) => {
  const ta = await testAgentd(t, sqlite);
  const lines: LogRecord[] = [];
  const server = await serveApi(ta.app, { host: "127.0.0.1", port: 0, accessLog: (r) => void lines.push(r) });
  t.after(() => server.close());
  const { key } = await ta.app.tenants.createApiKey(ta.tenantId);
  const get = (path: string, token?: string) =>
    fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }).then((r) => r.text());

  await get("/v1/runs?status=failed&limit=5", key);
  await get("/v1/runs", "wrong-token-value");
  await get("/handoff/hnd_secretlinktoken123/screen");
  await get("/oauth/callback?code=oauth-code-secret&state=s1");
  await get("/health");
  await fetch(`${server.url}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
  }).then((r) => r.text());

  assert.deepEqual(
    lines.map((l) => [l.level, l.msg, l.method, l.path, l.status, l.tenant]),
    [
      ["info", "request", "GET", "/v1/runs", 200, ta.tenantId],
      ["info", "request", "GET", "/v1/runs", 401, "-"],
      ["info", "request", "GET", "/handoff/…/screen", 404, "-"],
      ["info", "request", "GET", "/oauth/callback", lines[3]?.status, "-"],
      ["info", "request", "GET", "/health", 200, "-"],
      ["info", "request", "POST", "/mcp", 200, ta.tenantId],
    ],
  );
  for (const l of lines) assert.equal(typeof l.ms, "number");
  const all = JSON.stringify(lines);
  for (const secret of [key, "wrong-token-value", "hnd_secretlinktoken123", "oauth-code-secret", "admin-test-token"])
    assert.ok(!all.includes(secret), `${secret} is not in the log`);
});

test("on by default; AGENTD_ACCESS_LOG=0 turns it off", () => {
  assert.equal(loadConfig({}).accessLog, true);
  assert.equal(loadConfig({ AGENTD_ACCESS_LOG: "0" }).accessLog, false);
});
