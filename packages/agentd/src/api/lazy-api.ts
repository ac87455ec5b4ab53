import { Hono } from "hono";
import type { Agentd } from "../app.ts";
import type { AgentdApi, ApiOptions } from "./create.ts";

/** The API's module (its routes, their schemas, the OpenAI endpoint): some 55 modules. */
const load = () => import("./create.ts");

/**
 * Imports the API's routes now, without waiting for a request: `agentd start` calls it once its
 * ready line is out, so the first request seldom pays for the import. Never rejects (a failed import
 * is retried, and reported, by the request that needs it).
 */
export function preloadApi(): Promise<void> {
  return load().then(
    () => {},
    () => {},
  );
}

/**
 * The API as one handler for every path, its routes imported and built on the first request (or
 * after `preloadApi`) rather than before the server listens: they were a fifth of the modules
 * `agentd start` loaded before its ready line. It answers exactly as `createApi`'s app does (its 404s
 * and errors included), so it is served after the paths of the MCP endpoint and the dashboard, none
 * of which the API serves (test/api/lazy-api.test.ts). Typed as the API, for what calls it in this
 * process (`request`, `fetch`); its own `routes` are only the catch-all.
 */
export function lazyApi(app: Agentd, opts: ApiOptions = {}): AgentdApi {
  let built: Promise<Hono> | null = null;
  const api = new Hono().all("*", async (c) => {
    // Before importing modules the tools or the turn may share (Agentd.warm).
    if (!built) app.warm();
    built ??= load().then(
      (m) => m.createApi(app, opts) as unknown as Hono,
      (e: unknown) => {
        built = null;
        throw e;
      },
    );
    // The connection's details (c.env) go along: the token throttle reads the client's address from them.
    return (await built).fetch(c.req.raw, c.env);
  });
  return api as unknown as AgentdApi;
}
