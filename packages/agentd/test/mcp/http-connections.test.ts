import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { McpServerDef, type McpServer } from "../../src/mcp/definition.ts";
import { McpError } from "../../src/mcp/errors.ts";
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, McpPool } from "../../src/mcp/pool.ts";
import { hostSpawner } from "../../src/mcp/transport/spawn.ts";
import type { TenantScope } from "../../src/tenancy/scope.ts";
import { changingFactory, startHttpMcp } from "../support/mcp-servers.ts";

const tenant = { tenantId: "a" } as TenantScope;
const secrets = { get: async () => null };

/** A server that answers 503 while `down`, and is the MCP server behind it otherwise; it counts what reaches it. */
async function flaky(t: { after(fn: () => unknown): void }) {
  const inner = await startHttpMcp(changingFactory().factory);
  t.after(() => inner.close());
  const state = { down: true, hits: 0 };
  const front = createServer((req, res) => {
    state.hits++;
    if (state.down) return void res.writeHead(503, { "content-type": "text/plain" }).end("down for maintenance");
    const target = new URL(inner.url);
    const up = request(
      // Kept alive: a streamable HTTP session ends with the connection its first response came on.
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, connection: "keep-alive" },
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    front.closeAllConnections();
    front.close();
  });
  return Object.assign(state, { url: `http://127.0.0.1:${(front.address() as AddressInfo).port}/mcp` });
}

test("a server that is down is not tried again on every use: it waits longer after each failure, the error says when, and a server back up is used again", async (t) => {
  const s = await flaky(t);
  const clock = { now: 1_000_000 };
  const pool = new McpPool({
    net: { allowPrivate: false, allowHosts: ["127.0.0.1"] },
    spawner: hostSpawner,
    idleMs: 60_000,
    maxPerTenant: 4,
    now: () => clock.now,
    sweepEveryMs: 0,
  });
  t.after(() => pool.close());
  const def: McpServer = {
    ...McpServerDef.parse({ name: "flaky", transport: "http", url: s.url }),
    origin: "tenant",
    createdAt: 0,
  };
  const list = () => pool.tools(tenant, def, secrets);

  await assert.rejects(
    list(),
    (e) => McpError.is(e) && e.code === "unavailable" && /down for maintenance/.test(e.message),
  );
  assert.equal(s.hits, 1);
  // Many turns in a row: none reaches the server; each hears why and when it is tried again.
  for (let i = 0; i < 50; i++)
    await assert.rejects(
      list(),
      (e) => McpError.is(e) && e.code === "unavailable" && /tries it again in 5 s/.test(e.message),
    );
  assert.equal(s.hits, 1, "no reconnect storm");

  clock.now += BACKOFF_BASE_MS;
  await assert.rejects(list());
  assert.equal(s.hits, 2, "tried again after the wait");
  // The second failure in a row waits twice as long.
  clock.now += BACKOFF_BASE_MS;
  await assert.rejects(list(), (e) => McpError.is(e) && /again in 5 s/.test(e.message));
  assert.equal(s.hits, 2);

  s.down = false;
  clock.now += BACKOFF_BASE_MS;
  assert.ok(
    (await list()).some((x) => x.name === "add_numbers"),
    "back up: used again",
  );
  // A changed definition (another header here) is tried at once.
  s.down = true;
  await pool.closeFor("a", "flaky");
  await assert.rejects(list());
  await assert.rejects(list(), (e) => McpError.is(e) && /again in 5 s/.test(e.message));
  const hits = s.hits;
  const changed = { ...def, headers: { "x-try": { value: "again" } } };
  await assert.rejects(pool.tools(tenant, changed, secrets), (e) => McpError.is(e) && /maintenance/.test(e.message));
  assert.equal(s.hits, hits + 1);
  s.down = false;
  clock.now += BACKOFF_MAX_MS;
  assert.ok((await list()).length > 0);
  // A success forgets the failures: the next failure waits the first wait again.
  s.down = true;
  await pool.closeFor("a", "flaky");
  await assert.rejects(list());
  await assert.rejects(list(), (e) => McpError.is(e) && /again in 5 s/.test(e.message));
});

test("one session's requests reuse kept-alive connections: calls do not each open a TCP connection", async (t) => {
  const changing = changingFactory();
  const http = await startHttpMcp(changing.factory);
  t.after(() => http.close());
  const pool = new McpPool({
    net: { allowPrivate: false, allowHosts: ["127.0.0.1"] },
    spawner: hostSpawner,
    idleMs: 60_000,
    maxPerTenant: 4,
    sweepEveryMs: 0,
  });
  t.after(() => pool.close());
  const def: McpServer = {
    ...McpServerDef.parse({ name: "sums", transport: "http", url: http.url }),
    origin: "tenant",
    createdAt: 0,
  };
  await pool.tools(tenant, def, secrets);
  const before = http.connections;
  for (let i = 0; i < 30; i++) await pool.call(tenant, def, secrets, "add_numbers", { a: i, b: 1 });
  assert.equal(changing.calls, 30);
  // Thirty calls, each a POST: on the connections the session already had (a new one only if one was busy).
  assert.ok(http.connections - before <= 2, `${http.connections - before} new connections for 30 calls`);
  assert.ok(http.connections <= 4, `${http.connections} connections in all`);
});
