/**
 * The protocol version is negotiated: agentd's client offers the newest it speaks, a server that
 * answers an older version it also speaks is used at that version (every later request says so in
 * its MCP-Protocol-Version header), and one that answers a version agentd does not speak is refused
 * with the reason. The server is a bare JSON-RPC endpoint on 127.0.0.1, so the test sees the wire.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/client";
import { McpServerDef, type McpServer } from "../../src/mcp/definition.ts";
import { McpError } from "../../src/mcp/errors.ts";
import { McpPool } from "../../src/mcp/pool.ts";
import { resultText } from "../../src/mcp/results.ts";
import { hostSpawner } from "../../src/mcp/transport/spawn.ts";
import type { TenantScope } from "../../src/tenancy/scope.ts";

interface Seen {
  method: string;
  version: string | undefined;
  asked?: string;
}

/** A streamable HTTP MCP server that answers `initialize` with `version`, whatever it was asked. */
async function bareServer(t: { after(fn: () => unknown): void }, version: string) {
  const seen: Seen[] = [];
  const http = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (req.method !== "POST") return void res.writeHead(405).end();
      const m = JSON.parse(body) as { id?: number; method: string; params?: { protocolVersion?: string } };
      const header = req.headers["mcp-protocol-version"];
      seen.push({
        method: m.method,
        version: typeof header === "string" ? header : undefined,
        ...(m.params?.protocolVersion ? { asked: m.params.protocolVersion } : {}),
      });
      if (m.id === undefined) return void res.writeHead(202).end();
      const answer = (r: object) =>
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", id: m.id, ...r }));
      if (m.method === "initialize")
        return answer({
          result: { protocolVersion: version, capabilities: { tools: {} }, serverInfo: { name: "bare", version: "1" } },
        });
      if (m.method === "tools/list")
        return answer({ result: { tools: [{ name: "hello", inputSchema: { type: "object", properties: {} } }] } });
      if (m.method === "tools/call") return answer({ result: { content: [{ type: "text", text: "hi" }] } });
      answer({ error: { code: -32601, message: `no method ${m.method}` } });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => http.close(resolve)));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, seen };
}

function pool(t: { after(fn: () => unknown): void }) {
  const p = new McpPool({
    net: { allowPrivate: false, allowHosts: ["127.0.0.1"] },
    spawner: hostSpawner,
    idleMs: 60_000,
    maxPerTenant: 4,
    now: () => 1_000_000,
    sweepEveryMs: 0,
  });
  t.after(() => p.close());
  return p;
}

const server = (url: string): McpServer => ({
  ...McpServerDef.parse({ name: "bare", transport: "http", url }),
  origin: "tenant",
  createdAt: 0,
});
const tenant = { tenantId: "t" } as TenantScope;
const secrets = { get: async () => null };

test("the protocol version is negotiated: an older version the client speaks is used for every later request; one it does not is refused with the reason", async (t) => {
  const older = await bareServer(t, "2025-03-26");
  const p = pool(t);
  const tools = await p.tools(tenant, server(older.url), secrets);
  assert.deepEqual(
    tools.map((x) => x.name),
    ["hello"],
  );
  assert.equal(resultText(await p.call(tenant, server(older.url), secrets, "hello", {})), "hi");
  const init = older.seen.find((s) => s.method === "initialize");
  assert.equal(init?.asked, LATEST_PROTOCOL_VERSION, "the client offers the newest version it speaks");
  const after = older.seen.slice(older.seen.indexOf(init as Seen) + 1);
  assert.ok(after.some((s) => s.method === "tools/call"));
  assert.deepEqual(
    [...new Set(after.map((s) => s.version))],
    ["2025-03-26"],
    "every later request at the agreed version",
  );

  const alien = await bareServer(t, "1999-01-01");
  await assert.rejects(
    p.tools(tenant, server(alien.url), secrets),
    (e: Error) =>
      McpError.is(e, "unavailable") && /"bare".*protocol version is not supported: 1999-01-01/.test(e.message),
  );
});
