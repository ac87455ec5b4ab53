/**
 * MCP bench: what a tool call through agentd's MCP client costs beyond the server's own time, over
 * streamable HTTP (127.0.0.1) and stdio, and how many connections a tenant holds under load with
 * the per-tenant bound. One JSON object per line on stdout, progress on stderr. The server runs in
 * its own process in both cases.
 *
 *     node bench/mcp.ts [--calls 2000] [--tenants 20]
 *
 * A call is timed from the pool's `call` (the path McpSource takes for the model's call: the
 * session reused, the request, the answer parsed) to its result; the server's handler reports its
 * own time (bench/mcp-server.ts), which is subtracted. Each call is followed by the same call
 * through the SDK's own client with the platform's fetch (or a plain child process): what agentd's
 * guard, pool and mapping add is the ratio of the two (vsSdkDirect). Connections: every tenant lists the tools of
 * 3 servers with AGENTD_MCP_CONNECTIONS at 2; the figure is the most any tenant held at once, and
 * the time to open one.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type McpServer, McpServerDef } from "../packages/agentd/src/mcp/definition.ts";
import { McpPool } from "../packages/agentd/src/mcp/pool.ts";
import { hostSpawner } from "../packages/agentd/src/mcp/transport/spawn.ts";
import type { TenantScope } from "../packages/agentd/src/tenancy/scope.ts";

const SERVER = fileURLToPath(new URL("./mcp-server.ts", import.meta.url));

const { values } = parseArgs({ options: { calls: { type: "string" }, tenants: { type: "string" } } });
const CALLS = Number(values.calls ?? 2000);
const TENANTS = Number(values.tenants ?? 20);

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return round(s[Math.max(0, Math.ceil(p * s.length) - 1)] ?? Number.NaN);
};
const dist = (xs: number[]) => ({ p50: pct(xs, 0.5), p99: pct(xs, 0.99), max: pct(xs, 1), n: xs.length });
const emit = (metric: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ bench: "mcp", metric, ...fields }));
const progress = (s: string) => process.stderr.write(`[mcp] ${s}\n`);
const tenant = (id: string) => ({ tenantId: id }) as TenantScope;
const secrets = { get: async () => null };
const def = (d: unknown): McpServer => ({ ...McpServerDef.parse(d), origin: "tenant", createdAt: 0 });

/** The timed server's HTTP mode in a child process; its URL is its first line. */
async function serveHttp(): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(process.execPath, [SERVER, "http"], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  return {
    url: line.trim(),
    close: async () => {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

/** The MCP SDK's own client on `server`, over the platform's fetch or a plain child process. */
async function directClient(server: McpServer) {
  const { Client, StreamableHTTPClientTransport } = await import("@modelcontextprotocol/client");
  const { StdioClientTransport } = await import("@modelcontextprotocol/client/stdio");
  const client = new Client({ name: "bench-direct", version: "1.0.0" });
  await client.connect(
    server.transport === "http"
      ? new StreamableHTTPClientTransport(new URL(server.url))
      : new StdioClientTransport({ command: server.command, args: server.args }),
  );
  for (let i = 0; i < 100; i++) await client.callTool({ name: "add", arguments: { a: i, b: 1 } });
  return client;
}

const pool = new McpPool({
  net: { allowPrivate: false, allowHosts: ["127.0.0.1"] },
  spawner: hostSpawner,
  idleMs: 60_000,
  maxPerTenant: 2,
  sweepEveryMs: 0,
});
const http = await serveHttp();
const stdioArgs = [SERVER, "stdio"];
const servers = {
  "streamable-http": def({ name: "bench", transport: "http", url: http.url }),
  stdio: def({ name: "bench", transport: "stdio", command: process.execPath, args: stdioArgs }),
};

try {
  for (const [transport, server] of Object.entries(servers)) {
    progress(`${transport}: ${CALLS} calls`);
    const who = tenant(`t-${transport}`);
    const connectStart = performance.now();
    await pool.tools(who, server, secrets);
    const connectMs = performance.now() - connectStart;
    for (let i = 0; i < 100; i++) await pool.call(who, server, secrets, "add", { a: i, b: 1 });
    // Side by side, call for call: the SDK's own client on the same server with the platform's
    // fetch (no guard, no pool), so the load of the moment weighs on both alike.
    const direct = await directClient(server);
    const total: number[] = [];
    const overhead: number[] = [];
    const opened: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const start = performance.now();
      const r = await pool.call(who, server, secrets, "add", { a: i, b: 1 });
      const ms = performance.now() - start;
      const { serverMs, connections } = JSON.parse((r.content[0] as { text: string }).text) as {
        serverMs: number;
        connections: number;
      };
      total.push(ms);
      overhead.push(ms - serverMs);
      opened.push(connections);
      const bareStart = performance.now();
      const b = await direct.callTool({ name: "add", arguments: { a: i, b: 1 } });
      bare.push(
        performance.now() - bareStart - (JSON.parse((b.content as { text: string }[])[0]?.text ?? "{}").serverMs ?? 0),
      );
    }
    await direct.close();
    emit("call_overhead_ms", {
      transport,
      ...dist(overhead),
      callMs: dist(total),
      sdkDirectMs: dist(bare),
      vsSdkDirect: {
        p50: round(pct(overhead, 0.5) / pct(bare, 0.5), 2),
        p99: round(pct(overhead, 0.99) / pct(bare, 0.99), 2),
      },
      connectMs: round(connectMs),
      // TCP connections the server accepted during the timed calls: kept-alive sockets make it ~0, not one per call.
      tcpConnections: (opened.at(-1) ?? 0) - (opened[0] ?? 0),
    });
  }

  progress(`connections: ${TENANTS} tenants, 3 servers each, at most 2 per tenant`);
  let most = 0;
  const opens: number[] = [];
  await Promise.all(
    Array.from({ length: TENANTS }, async (_, i) => {
      for (const name of ["one", "two", "three"]) {
        const start = performance.now();
        await pool.tools(tenant(`c-${i}`), def({ name, transport: "http", url: http.url }), secrets);
        opens.push(performance.now() - start);
        for (const [id, n] of pool.stats()) if (id.startsWith("c-")) most = Math.max(most, n);
      }
    }),
  );
  const held = [...pool.stats()].filter(([id]) => id.startsWith("c-")).map(([, n]) => n);
  emit("connections_per_tenant", {
    tenants: TENANTS,
    serversPerTenant: 3,
    bound: 2,
    mostHeldAtOnce: most,
    heldAtEnd: dist(held),
    openMs: dist(opens),
  });
} finally {
  await pool.close();
  await http.close();
}
