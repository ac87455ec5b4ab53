// server-everything behind a bearer check, as an MCP server protected by OAuth is: its protected
// resource metadata names the test's authorization server (oidc-provider), only tokens issued for
// this resource pass, and tools that need a wider scope answer 403 insufficient_scope (step-up).
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { everythingFactory, type Factory, startHttpMcp } from "./mcp-servers.ts";
import type { OAuthServer } from "./oauth-server.ts";

export interface ProtectedMcp {
  url: string;
  /** Every Authorization header the server received. */
  seen: string[];
  /** The scopes of the tokens that passed, in order. */
  scopes: string[];
  /** Tool calls that passed: whose token (the account at the provider), which tool, with what. */
  calls: { account: string; tool: string; args: unknown }[];
}

export async function protectedMcp(
  t: { after(fn: () => unknown): void },
  auth: () => OAuthServer,
  opts: { needs?: Record<string, string>; factory?: Factory } = {},
): Promise<ProtectedMcp> {
  const inner = await startHttpMcp(opts.factory ?? (await everythingFactory()));
  t.after(() => inner.close());
  const seen: string[] = [];
  const scopes: string[] = [];
  const calls: ProtectedMcp["calls"] = [];
  const front = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname.startsWith("/.well-known/oauth-protected-resource")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ resource: mcpUrl, authorization_servers: [auth().issuer], scopes_supported: ["mcp"] }),
        );
        return;
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const header = String(req.headers.authorization ?? "");
      seen.push(header);
      const found = header.startsWith("Bearer ") ? await auth().provider.AccessToken.find(header.slice(7)) : undefined;
      const metadata = `resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`;
      if (!found || found.isExpired || ![found.aud ?? []].flat().includes(mcpUrl)) {
        res.writeHead(401, { "www-authenticate": `Bearer ${metadata}`, "content-type": "application/json" });
        res.end(JSON.stringify({ error: "invalid_token" }));
        return;
      }
      const granted = String(found.scope ?? "").split(" ");
      const msg = body.length
        ? (JSON.parse(body.toString()) as { method?: string; params?: { name?: string; arguments?: unknown } })
        : {};
      const need = msg.method === "tools/call" ? opts.needs?.[String(msg.params?.name)] : undefined;
      if (need && !granted.includes(need)) {
        res.writeHead(403, {
          "www-authenticate": `Bearer error="insufficient_scope", scope="${need}", ${metadata}`,
          "content-type": "application/json",
        });
        res.end(JSON.stringify({ error: "insufficient_scope" }));
        return;
      }
      scopes.push(String(found.scope ?? ""));
      if (msg.method === "tools/call")
        calls.push({ account: found.accountId, tool: String(msg.params?.name), args: msg.params?.arguments });
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
      up.end(body);
    })().catch((e) => res.writeHead(500).end(String(e)));
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    front.closeAllConnections();
    front.close();
  });
  const origin = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  const mcpUrl = `${origin}/mcp`;
  return { url: mcpUrl, seen, scopes, calls };
}
