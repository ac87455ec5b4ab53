// A tenant's tool server on 127.0.0.1 and the ToolSource that reaches it over HTTP: what an MCP
// server and its source will be (issue 17), without MCP's protocol. Each tenant has its own servers
// and tools; the server counts how often it was listed and records every call it ran.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { SourceTool, ToolSource } from "../../src/tools/sources/port.ts";

export interface HostedTool extends SourceTool {
  run(args: any): unknown;
}

export interface ToolServer {
  url: string;
  /** tenant id → its tools (change it to change what the next list says). */
  tools: Map<string, HostedTool[]>;
  /** Lists answered, by tenant. */
  lists: Map<string, number>;
  calls: { tenant: string; server: string; name: string; args: unknown }[];
  /** While set, list requests answer this status. */
  failLists: number | null;
  close(): Promise<void>;
}

export async function startToolServer(): Promise<ToolServer> {
  const s: Omit<ToolServer, "url" | "close"> = { tools: new Map(), lists: new Map(), calls: [], failLists: null };
  const http = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", "http://x");
    const tenant = url.searchParams.get("tenant") ?? "";
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (url.pathname === "/tools") {
      if (s.failLists !== null) return send(s.failLists, { error: "down" });
      s.lists.set(tenant, (s.lists.get(tenant) ?? 0) + 1);
      return send(
        200,
        (s.tools.get(tenant) ?? []).map(({ run: _run, ...t }) => t),
      );
    }
    if (url.pathname === "/call") {
      const { server, name, args } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const tool = (s.tools.get(tenant) ?? []).find((t) => t.server === server && t.name === name);
      if (!tool) return send(404, { error: `no tool ${name} at ${server}` });
      s.calls.push({ tenant, server, name, args });
      try {
        return send(200, { result: await tool.run(args) });
      } catch (e) {
        return send(500, { error: e instanceof Error ? e.message : String(e) });
      }
    }
    send(404, { error: "not found" });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return Object.assign(s, { url, close: () => new Promise<void>((resolve) => http.close(() => resolve())) });
}

/** The source agentd is given: lists and calls a tenant's tools on the server, over HTTP. */
export function httpToolSource(server: { url: string }, id = "mcp"): ToolSource {
  return {
    id,
    async list(tenant, signal) {
      const res = await fetch(`${server.url}/tools?tenant=${tenant.tenantId}`, { signal });
      if (!res.ok) throw new Error(`the tool server answered ${res.status}`);
      return (await res.json()) as SourceTool[];
    },
    async call(tenant, tool, args, ctx) {
      const res = await fetch(`${server.url}/call?tenant=${tenant.tenantId}`, {
        method: "POST",
        body: JSON.stringify({ server: tool.server, name: tool.name, args }),
        signal: ctx.signal,
      });
      const body = (await res.json()) as { result?: unknown; error?: string };
      if (!res.ok) throw new Error(body.error ?? `the tool server answered ${res.status}`);
      return body.result;
    },
  };
}
