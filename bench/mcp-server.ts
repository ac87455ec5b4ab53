/**
 * The MCP server the MCP bench calls: one tool, `add`, that reports the time its own handler took
 * (`serverMs`), so the bench can subtract the server's time from what a call costs agentd. Imported
 * for streamable HTTP (bench/mcp.ts serves it on 127.0.0.1), run as `node bench/mcp-server.ts stdio`
 * for stdio.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

/** TCP connections the HTTP server accepted so far (0 over stdio): the bench reports how many its calls opened. */
let connections = 0;

export function timedServer(): McpServer {
  const server = new McpServer({ name: "bench", version: "1.0.0" });
  server.registerTool(
    "add",
    { description: "Adds two numbers.", inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => {
      const start = performance.now();
      const sum = a + b;
      const serverMs = performance.now() - start;
      return { content: [{ type: "text", text: JSON.stringify({ sum, serverMs, connections }) }] };
    },
  );
  return server;
}

if (process.argv[2] === "stdio") await timedServer().connect(new StdioServerTransport());
if (process.argv[2] === "http") {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    const id = req.headers["mcp-session-id"];
    const known = typeof id === "string" ? sessions.get(id) : undefined;
    if (known) return void known.handleRequest(req, res);
    const t = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => void sessions.set(sid, t),
    });
    await timedServer().connect(t);
    await t.handleRequest(req, res);
  });
  http.on("connection", () => void connections++);
  http.listen(0, "127.0.0.1", () =>
    process.stdout.write(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp\n`),
  );
}
