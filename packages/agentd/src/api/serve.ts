import type * as NodeServer from "@hono/node-server";
import { createRequire } from "node:module";
import { Hono } from "hono";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Agentd } from "../app.ts";
import { dashboardPaths, dashboardRoute } from "../dashboard/mount.ts";
import type { Logger } from "@agentd/kernel";
import { accessLog } from "./access-log.ts";
import { AuthThrottle } from "./auth-throttle.ts";
import type { ApiOptions } from "./create.ts";
import { lazyApi } from "./lazy-api.ts";
import { onApiError, onNotFound } from "./errors.ts";
import type { RelayUpgrade } from "../ssh/relay.ts";
import { MCP_PATH, mcpRoute } from "../mcp-server/mount.ts";

export interface ServedApi {
  /** Where it listens, e.g. http://127.0.0.1:8787. */
  url: string;
  /** Stops listening and cuts open connections (live streams included). */
  close(): Promise<void>;
}

export interface ServeOptions extends ApiOptions {
  host?: string;
  port?: number;
  /** The dashboard at / (on by default): pages that read and act through this same API. */
  dashboard?: boolean;
  /** Where one line per request goes (api/access-log.ts); none by default. */
  accessLog?: Logger;
}

// @hono/node-server's CommonJS build: its ES build imports node:http as an ES module, whose namespace
// reads every export of node:http, the lazy WebSocket ones too, which loads undici before the ready
// line (the first request's Response loads it anyway, later).
const { serve } = createRequire(import.meta.url)("@hono/node-server") as typeof NodeServer;

/** Where `agentd start` and `agentd serve` accept SSH tunnels when AGENTD_RELAY_TOKEN is set. */
export const RELAY_PATH = "/ssh-relay";

/** The API, agentd as an MCP server at /mcp and, at /, the dashboard: what `agentd start` and `agentd serve` listen with. */
export function createServer(app: Agentd, opts: ServeOptions = {}): Hono {
  const throttle = opts.throttle ?? new AuthThrottle();
  // The API's routes load on its first request (api/lazy-api.ts). It serves none of MCP's and the
  // pages' paths, so it comes last, for every other path: a path none serves gets its JSON 404.
  const api = lazyApi(app, { ...opts, throttle });
  const root = new Hono();
  if (opts.accessLog) root.use("*", accessLog(opts.accessLog));
  root.all(MCP_PATH, mcpRoute(app, { api, throttle }));
  if (opts.dashboard !== false) {
    const pages = dashboardRoute(app, { api, throttle });
    for (const path of dashboardPaths()) root.all(path, pages);
  }
  root.route("/", api as unknown as Hono);
  root.notFound(onNotFound);
  root.onError((e, c) => onApiError(e, c, app.log));
  return root;
}

/** Serves the API (and the dashboard) on a real socket; `port: 0` picks a free port. Defaults: the config's host and port. */
export async function serveApi(app: Agentd, opts: ServeOptions = {}): Promise<ServedApi> {
  const server0 = createServer(app, opts);
  // The relay (and ws) is loaded only when the operator set its tokens.
  const relayUpgrade = app.config.relay ? (await import("../ssh/relay.ts")).relayUpgrade : null;
  const hostname = opts.host ?? app.config.host;
  return new Promise((resolve, reject) => {
    let upgrade: RelayUpgrade | undefined;
    const server = serve(
      { fetch: server0.fetch, hostname, port: opts.port ?? app.config.port },
      (info: AddressInfo) => {
        server.off("error", reject);
        const host = info.family === "IPv6" || info.address.includes(":") ? `[${info.address}]` : info.address;
        resolve({
          url: `http://${host}:${info.port}`,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeAllConnections();
              upgrade?.closeTunnels();
            }),
        });
      },
    ) as Server;
    server.once("error", reject);
    // SSH over HTTPS to this machine's sshd, when the operator set tokens: the relay at /ssh-relay.
    const relay = app.config.relay;
    if (relay && relayUpgrade) {
      const tunnels = relayUpgrade({
        ...relay,
        path: RELAY_PATH,
        log: (l) => app.log({ level: "info", msg: String(l.msg), ...l }),
      });
      upgrade = tunnels;
      server.on("upgrade", (req, socket, head) => {
        if (!tunnels(req, socket, head))
          socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      });
    }
  });
}
