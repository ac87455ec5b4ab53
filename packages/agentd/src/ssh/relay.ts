import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { pipeline } from "node:stream";
import { createWebSocketStream, WebSocketServer } from "ws";
import { TUNNEL_PROTOCOL } from "./tunnel.ts";

export interface RelayOptions {
  /** The tokens a tunnel may present (`Authorization: Bearer <token>`); at least one, each 16+ characters. */
  tokens: readonly string[];
  /** The sshd port on 127.0.0.1 tunnels reach (default 22). The host is always 127.0.0.1: a relay is no open proxy. */
  sshPort?: number;
  /** Where tunnels are accepted (default `/`; agentd's own server uses `/ssh-relay`). */
  path?: string;
  /** Tunnels open at once, at most (default 64). */
  maxTunnels?: number;
  log?: (line: Record<string, unknown>) => void;
}

const MIN_TOKEN = 16;
const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * The relay's end of SSH over HTTPS: a WebSocket upgrade with a known bearer token becomes a TCP
 * connection to 127.0.0.1:<sshPort>, bytes passed both ways as binary frames. Anything else (no
 * token, a wrong one, another path, too many tunnels) is answered with an HTTP error and closed.
 * TLS is the front's job (a reverse proxy, or `agentd start` behind one): tunnels carry SSH, which
 * is encrypted and host-key pinned end to end anyway.
 */
export function relayUpgrade(o: RelayOptions): RelayUpgrade {
  if (o.tokens.length === 0 || o.tokens.some((t) => typeof t !== "string" || t.length < MIN_TOKEN))
    throw new TypeError(`a relay needs at least one token of ${MIN_TOKEN} or more characters`);
  const wanted = o.tokens.map(digest);
  const path = o.path ?? "/";
  const port = o.sshPort ?? 22;
  const max = o.maxTunnels ?? 64;
  const log = o.log ?? (() => {});
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 4 * 1024 * 1024,
    handleProtocols: (offered) => (offered.has(TUNNEL_PROTOCOL) ? TUNNEL_PROTOCOL : false),
  });
  // An upgraded socket is no longer the HTTP server's: closing the server would wait on each tunnel
  // until sshd or the peer hung up (sshd's login grace is two minutes), so the relay ends them itself.
  const tunnels = new Set<() => void>();
  let open = 0;
  const refuse = (socket: Duplex, status: number, why: string) => {
    socket.end(`HTTP/1.1 ${status} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    log({ msg: "ssh relay refused a tunnel", status, why });
  };
  const handle = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const url = new URL(req.url ?? "/", "http://relay");
    if (url.pathname !== path) return false;
    const auth = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    // Compared as digests in constant time: neither the token's length nor its prefix leaks.
    const given = auth ? digest(auth) : null;
    if (!given || !wanted.some((w) => timingSafeEqual(w, given))) {
      refuse(socket, 401, "Unauthorized");
      return true;
    }
    if (open >= max) {
      refuse(socket, 503, "Service Unavailable");
      return true;
    }
    open++;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const tcp = connect(port, "127.0.0.1");
      const stream = createWebSocketStream(ws);
      let closed = false;
      const done = () => {
        if (closed) return;
        closed = true;
        open--;
        tunnels.delete(done);
        tcp.destroy();
        ws.terminate();
      };
      tunnels.add(done);
      pipeline(stream, tcp, done);
      pipeline(tcp, stream, done);
      log({ msg: "ssh relay tunnel open", to: `127.0.0.1:${port}` });
    });
    return true;
  };
  return Object.assign(handle, {
    closeTunnels: () => {
      for (const done of [...tunnels]) done();
    },
  });
}

/** The relay's upgrade handler (true when the request was its path) and how to end every open tunnel. */
export type RelayUpgrade = ((req: IncomingMessage, socket: Duplex, head: Buffer) => boolean) & {
  closeTunnels(): void;
};

/** `agentd relay`: a small HTTP server that only accepts tunnels (everything else is 404). */
export async function startRelay(
  o: RelayOptions & { host?: string; port?: number },
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const upgrade = relayUpgrade(o);
  const server = createServer((_req, res) => {
    res.writeHead(404, { "content-type": "text/plain" }).end("agentd ssh relay: WebSocket tunnels only\n");
  });
  server.on("upgrade", (req, socket, head) => {
    if (!upgrade(req, socket, head))
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, o.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as { address: string; port: number };
  const host = addr.address.includes(":") ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `ws://${host}:${addr.port}${o.path ?? "/"}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        upgrade.closeTunnels();
      }),
  };
}
