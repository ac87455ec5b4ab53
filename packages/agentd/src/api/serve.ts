import { serve } from "@hono/node-server";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Agentd } from "../app.ts";
import { type ApiOptions, createApi } from "./create.ts";

export interface ServedApi {
  /** Where it listens, e.g. http://127.0.0.1:8787. */
  url: string;
  /** Stops listening and cuts open connections (live streams included). */
  close(): Promise<void>;
}

/** Serves the API on a real socket; `port: 0` picks a free port. Defaults: the config's host and port. */
export function serveApi(app: Agentd, opts: ApiOptions & { host?: string; port?: number } = {}): Promise<ServedApi> {
  const api = createApi(app, opts);
  const hostname = opts.host ?? app.config.host;
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: api.fetch, hostname, port: opts.port ?? app.config.port }, (info: AddressInfo) => {
      server.off("error", reject);
      const host = info.family === "IPv6" || info.address.includes(":") ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    }) as Server;
    server.once("error", reject);
  });
}
