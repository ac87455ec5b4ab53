// MCP servers for tests, on 127.0.0.1 or as a child process: server-everything (the protocol's
// reference server) over stdio and over streamable HTTP (or the older HTTP+SSE), and a small server
// whose tools a test changes (list_changed) and whose tools take a known time (the bench).
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

const require = createRequire(import.meta.url);
/** server-everything's entry: `node <it> stdio` serves over stdio. */
export const EVERYTHING_BIN = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);

/** The definition of server-everything over stdio, as a tenant would add it. */
export const everythingStdio = (
  name = "everything",
  env: Record<string, { value: string } | { secret: string }> = {},
) => ({
  name,
  transport: "stdio" as const,
  command: process.execPath,
  args: [EVERYTHING_BIN, "stdio"],
  env,
  enabled: true,
});

/** What a server factory gives: an MCP server to connect to one session's transport. */
export type Factory = () => {
  server: { connect(t: unknown): Promise<void>; close(): Promise<void> };
  cleanup?: () => void;
};

export interface HttpMcp {
  url: string;
  /** Sessions opened so far, and the Authorization header of every request. */
  sessions: number;
  /** TCP connections accepted so far. */
  connections: number;
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/**
 * Serves MCP on 127.0.0.1 at /mcp: streamable HTTP, or (`sse: true`) only the older HTTP+SSE
 * transport, whose server answers a streamable POST with 405 as such servers do; with `bearer`,
 * only requests carrying that token (401 otherwise).
 */
export async function startHttpMcp(factory: Factory, opts: { sse?: boolean; bearer?: string } = {}): Promise<HttpMcp> {
  const streams = new Map<string, StreamableHTTPServerTransport>();
  const sse = new Map<string, SSEServerTransport>();
  const closers: (() => Promise<void>)[] = [];
  const state = { sessions: 0, connections: 0, authorizations: [] as (string | undefined)[] };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    state.authorizations.push(req.headers.authorization);
    // A protected server: 401 with the challenge an MCP client's OAuth flow starts from.
    if (opts.bearer && req.headers.authorization !== `Bearer ${opts.bearer}`)
      return void res.writeHead(401, { "www-authenticate": 'Bearer realm="mcp"' }).end();
    const url = new URL(req.url ?? "/", "http://x");
    if (opts.sse) {
      if (req.method === "GET" && url.pathname === "/mcp") {
        const t = new SSEServerTransport("/messages", res);
        sse.set(t.sessionId, t);
        state.sessions++;
        const { server, cleanup } = factory();
        closers.push(async () => (await server.close(), cleanup?.()));
        await server.connect(t);
        return;
      }
      if (req.method === "POST" && url.pathname === "/messages") {
        const t = sse.get(url.searchParams.get("sessionId") ?? "");
        if (!t) return void res.writeHead(404).end();
        return t.handlePostMessage(req, res);
      }
      return void res.writeHead(405, { allow: "GET" }).end();
    }
    if (url.pathname !== "/mcp") return void res.writeHead(404).end();
    const id = req.headers["mcp-session-id"];
    const known = typeof id === "string" ? streams.get(id) : undefined;
    if (known) return known.handleRequest(req, res);
    if (req.method !== "POST" || id) return void res.writeHead(400).end("no such session");
    const t = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => void streams.set(sid, t),
    });
    state.sessions++;
    const { server, cleanup } = factory();
    closers.push(async () => (await server.close(), cleanup?.()));
    await server.connect(t);
    await t.handleRequest(req, res);
  };
  const http: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
    });
  });
  http.on("connection", () => void state.connections++);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  return Object.assign(state, {
    url,
    close: async () => {
      await Promise.all(closers.map((c) => c().catch(() => {})));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  });
}

/** server-everything's own server, for startHttpMcp. */
export async function everythingFactory(): Promise<Factory> {
  const { createServer: make } = (await import(join(dirname(EVERYTHING_BIN), "server/index.js"))) as {
    createServer: () => { server: McpServer; cleanup: () => void };
  };
  return () => {
    const { server, cleanup } = make();
    return { server, cleanup: () => cleanup() };
  };
}

/** A GitHub-like server with one tool, `star_repo` ({ repo }): who starred is its front's to know (protected-mcp.ts). */
export function starFactory(): Factory {
  return () => {
    const server = new McpServer({ name: "github", version: "1.0.0" });
    server.registerTool(
      "star_repo",
      { description: "Stars a repository as the signed-in person.", inputSchema: { repo: z.string() } },
      async ({ repo }) => ({ content: [{ type: "text", text: `starred ${repo}` }] }),
    );
    return { server };
  };
}

/**
 * A small server whose tools the test changes while connected: `add(name)` registers a tool on
 * every open session, which then sends notifications/tools/list_changed. `add_numbers` answers at
 * once (the bench measures what the client adds to it).
 */
export function changingFactory(): { factory: Factory; add(name: string): void; calls: number } {
  const servers = new Set<McpServer>();
  const extra: string[] = [];
  const state = {
    calls: 0,
    factory: (() => {
      const server = new McpServer(
        { name: "changing", version: "1.0.0" },
        { capabilities: { tools: { listChanged: true } } },
      );
      server.registerTool(
        "add_numbers",
        { description: "Adds two numbers.", inputSchema: { a: z.number(), b: z.number() } },
        async ({ a, b }) => {
          state.calls++;
          return { content: [{ type: "text", text: String(a + b) }] };
        },
      );
      for (const name of extra) register(server, name);
      servers.add(server);
      return { server, cleanup: () => void servers.delete(server) };
    }) as Factory,
    add(name: string) {
      extra.push(name);
      for (const s of servers) register(s, name);
    },
  };
  return state;
}

function register(server: McpServer, name: string) {
  server.registerTool(name, { description: `The ${name} tool.`, inputSchema: {} }, async () => ({
    content: [{ type: "text", text: name }],
  }));
}

/**
 * A stdio MCP server with no dependency, for the sandbox (which shows no node_modules): `node -e
 * MINI_MCP`. Its tools: `env` (its environment as JSON), `ls` (a folder's entries, or the error),
 * `spawn_sleep` (starts a child that sleeps, and answers its pid).
 */
export const MINI_MCP = `
const send = (m) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...m }) + "\\n");
const obj = { type: "object", properties: { path: { type: "string" } } };
const tools = ["env", "ls", "spawn_sleep"].map((name) => ({ name, description: "The " + name + " tool.", inputSchema: obj }));
const run = (name, args) => {
  if (name === "env") return JSON.stringify(process.env);
  if (name === "ls") {
    try { return require("node:fs").readdirSync(args.path).join(","); } catch (e) { return "error: " + e.code; }
  }
  const child = require("node:child_process").spawn("sleep", ["1000"], { stdio: "ignore" });
  return String(child.pid);
};
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  if (m.method === "initialize")
    send({ id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "mini", version: "1" } } });
  else if (m.method === "tools/list") send({ id: m.id, result: { tools } });
  else if (m.method === "tools/call") send({ id: m.id, result: { content: [{ type: "text", text: run(m.params.name, m.params.arguments || {}) }] } });
  else if (m.method === "ping") send({ id: m.id, result: {} });
  else send({ id: m.id, error: { code: -32601, message: "no method " + m.method } });
});
`;
