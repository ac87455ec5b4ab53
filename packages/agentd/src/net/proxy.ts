import type { LookupAddress } from "node:dns";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
import { BlockedAddressError, NetError } from "./errors.ts";
import { type CheckedUrl, checkUrl, type Resolver } from "./guard.ts";
import type { NetPolicy } from "./policy.ts";

/** A request the guard refused: what the page asked for and why. */
export interface Refusal {
  url: string;
  reason: string;
}

export interface GuardProxy {
  /** `http://127.0.0.1:<port>`: the proxy a browser context sends every request through (`unix:<path>` when it listens on a socket file). */
  url: string;
  close(): Promise<void>;
}

const IDLE_MS = 60_000;
/** Marks the answer the proxy gives in place of a refused page: a navigation that ends there was refused. */
export const REFUSED_HEADER = "x-agentd-refused";

/**
 * The SSRF policy as an HTTP proxy on 127.0.0.1 (or, with `socketPath`, on a unix socket a sandbox
 * without a network reaches through a file bound into it). A browser context is made to use it
 * (Playwright's per-context proxy, loopback included): every request the page makes (navigations,
 * redirects, subresources, fetch/XHR, WebSockets, downloads) arrives here as a plain request or a
 * CONNECT, is checked with the same checkUrl as web_fetch, and is connected to the address that was
 * checked (a DNS answer that changes afterwards, a rebinding to 127.0.0.1, cannot redirect it).
 */
export async function startGuardProxy(
  policy: NetPolicy,
  onRefused: (r: Refusal) => void,
  opts: { resolve?: Resolver; socketPath?: string } = {},
): Promise<GuardProxy> {
  const check = (u: string) => checkUrl(u, policy, opts.resolve ? { resolve: opts.resolve } : {});
  /** A request the guard refused is reported (the model hears of it); a name that does not resolve is only the page's failure. */
  const refuse = (u: string, e: unknown): string => {
    const reason = BlockedAddressError.is(e) || NetError.is(e) ? e.message : `refused: ${(e as Error).message}`;
    if (!NetError.is(e) || e.code === "bad_url") onRefused({ url: u, reason });
    return reason;
  };

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const target = req.url ?? "";
    if (!/^https?:\/\//i.test(target))
      return void res
        .writeHead(400, { "content-type": "text/plain" })
        .end("this proxy forwards absolute http URLs only");
    check(target).then(
      (c) => forward(c, req, res),
      (e: unknown) => {
        const reason = refuse(target, e);
        res.writeHead(403, { "content-type": "text/plain; charset=utf-8", [REFUSED_HEADER]: "1" }).end(reason);
      },
    );
  });

  // HTTPS and WebSockets: a tunnel to host:port, opened only to a checked address.
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    client.on("error", () => client.destroy());
    const hostPort = req.url ?? "";
    const probe = `https://${hostPort}/`;
    check(probe).then(
      (c) => {
        const upstream = net.connect({ host: pick(c.addresses).address, port: c.port });
        upstream.setTimeout(IDLE_MS, () => upstream.destroy());
        upstream.once("connect", () => {
          client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
          if (head.length) upstream.write(head);
          upstream.pipe(client);
          client.pipe(upstream);
        });
        upstream.on("error", () => client.destroy());
        client.on("close", () => upstream.destroy());
      },
      (e: unknown) => {
        refuse(probe.replace(/\/$/, ""), e);
        client.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
      },
    );
  });

  // A plain ws:// upgrade sent to the proxy as an absolute URL (Chromium tunnels them, but a client may not).
  server.on("upgrade", (req: IncomingMessage, client: Socket, head: Buffer) => {
    client.on("error", () => client.destroy());
    const target = req.url ?? "";
    check(target).then(
      (c) => {
        const upstream = net.connect({ host: pick(c.addresses).address, port: c.port }, () => {
          const lines = [`${req.method} ${c.url.pathname}${c.url.search} HTTP/1.1`];
          for (let i = 0; i < req.rawHeaders.length; i += 2)
            if (!/^proxy-/i.test(req.rawHeaders[i]!)) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
          upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
          if (head.length) upstream.write(head);
          upstream.pipe(client);
          client.pipe(upstream);
        });
        upstream.on("error", () => client.destroy());
        client.on("close", () => upstream.destroy());
      },
      (e: unknown) => {
        refuse(target, e);
        client.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
      },
    );
  });

  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    if (opts.socketPath) server.listen(opts.socketPath, () => ok());
    else server.listen(0, "127.0.0.1", () => ok());
  });
  server.unref();
  return {
    url: opts.socketPath ? `unix:${opts.socketPath}` : `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function pick(addresses: LookupAddress[]): LookupAddress {
  return addresses[0] as LookupAddress;
}

/** One plain-HTTP request to the checked address, headers as the page sent them (proxy ones dropped), the answer streamed back with its raw headers (every Set-Cookie kept). */
function forward(c: CheckedUrl, req: IncomingMessage, res: ServerResponse): void {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (/^(proxy-|connection$|keep-alive$)/i.test(name)) continue;
    headers.push(name, req.rawHeaders[i + 1]!);
  }
  const a = pick(c.addresses);
  const up = http.request(
    {
      host: a.address,
      family: a.family,
      port: c.port,
      method: req.method,
      path: c.url.pathname + c.url.search,
      headers,
      setHost: false,
      agent: false,
      timeout: IDLE_MS,
    },
    (r) => {
      const raw: string[] = [];
      for (let i = 0; i < r.rawHeaders.length; i += 2)
        if (!/^(connection|keep-alive|transfer-encoding)$/i.test(r.rawHeaders[i]!))
          raw.push(r.rawHeaders[i]!, r.rawHeaders[i + 1]!);
      res.writeHead(r.statusCode ?? 502, r.statusMessage, raw);
      r.pipe(res);
    },
  );
  up.on("timeout", () => up.destroy(new Error("timeout")));
  up.on("error", (e) => {
    if (!res.headersSent)
      res.writeHead(502, { "content-type": "text/plain" }).end(`could not reach ${c.url.host}: ${e.message}`);
    else res.destroy();
  });
  req.pipe(up);
}
