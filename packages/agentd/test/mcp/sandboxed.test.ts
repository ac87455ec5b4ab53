import assert from "node:assert/strict";
import { test } from "node:test";
import { resultText } from "../../src/mcp/results.ts";
import { sandboxUid } from "../../src/sandbox/workspace.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { MINI_MCP } from "../support/mcp-servers.ts";
import { until } from "../support/wait.ts";
import { processesOf, skip } from "../sandbox/rig.ts";

const sqlite = BACKENDS.find((b) => b.name === "sqlite")!;

test("a stdio server runs in the sandbox: it sees the secret its definition names and nothing of agentd's environment or data, and closing it ends every process it started", {
  skip,
}, async (t) => {
  const { app, tenantId, place } = await testAgentd(t, sqlite, {
    config: { mcp: { servers: [], idleMs: 60_000, maxPerTenant: 4 } },
  });
  const scope = app.tenants.scope(tenantId);
  await app.vault.put(scope, "MINI_TOKEN", "tok-4242-secret");
  const server = await app.mcp.servers.add(scope, {
    name: "mini",
    transport: "stdio",
    command: "node",
    args: ["-e", MINI_MCP],
    env: { MINI_TOKEN: { secret: "MINI_TOKEN" }, MODE: { value: "test" } },
  });
  const reader = app.vault.reader(scope);
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    resultText(await app.mcp.pool.call(scope, server, reader, name, args));

  const env = JSON.parse(await call("env"));
  assert.equal(env.MINI_TOKEN, "tok-4242-secret");
  assert.equal(env.MODE, "test");
  assert.equal(env.HOME, "/workspace", "the sandbox's home, not agentd's");
  for (const k of Object.keys(env))
    assert.ok(!/^(AGENTD_|DATABASE_URL|OPENAI_|NODE_OPTIONS$|LD_)/.test(k), `${k} reached the server`);
  assert.match(
    await call("ls", { path: place.dataDir }),
    /^error: ENOENT$/,
    "agentd's data folder is not in the sandbox",
  );

  const uid = sandboxUid(tenantId, "mcp-mini");
  await call("spawn_sleep");
  assert.ok(
    processesOf(uid).length >= 2,
    "the server and the sleep it started run as the uid of the tenant's server area",
  );
  await app.mcp.pool.closeFor(tenantId, "mini");
  await until(() => processesOf(uid).length === 0, "every process of the tenant's sandbox to end", 5_000);
});
