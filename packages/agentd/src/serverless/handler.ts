import { timingSafeEqual } from "node:crypto";
import type { Hono } from "hono";
import type { Agentd, AgentdOptions } from "../app.ts";
import { Drains } from "./drains.ts";
import { checkFunctionConfig, tickSecretOf, timeLimitMsOf } from "./options.ts";
import { type TickReport, tick } from "./tick.ts";

export { SQLITE_REFUSED } from "./options.ts";
export type { TickReport } from "./tick.ts";

export interface AgentdHandlerOptions extends Omit<AgentdOptions, "worker" | "api"> {
  /** The tick route's secret (default AGENTD_TICK_SECRET, else CRON_SECRET, which Vercel Cron sends as a bearer token). */
  tickSecret?: string;
  /** The function's time limit in ms (default AGENTD_FUNCTION_TIMEOUT seconds, else 10 s). */
  timeLimitMs?: number;
  /** How often the platform's cron calls the tick (default 60 s): a tick that did not come is reported. */
  tickEveryMs?: number;
  /** The path the handler is mounted under, taken off before routing (e.g. "/api" for `app/api/[[...agentd]]/route.ts`). */
  basePath?: string;
  /** How the platform keeps the function alive after the answer (Next's `after`, `waitUntil` of @vercel/functions). */
  waitUntil?: (work: Promise<unknown>) => void;
  /** The dashboard at / (default on). */
  dashboard?: boolean;
}

/** What the platform knows of one invocation; both are optional. */
export interface Invocation {
  /** The platform's own waitUntil for this invocation (Cloudflare-style `ctx.waitUntil`). */
  waitUntil?: (work: Promise<unknown>) => void;
  /** When the platform stops this invocation (epoch ms): the tick's drain ends before it. */
  deadline?: number;
}

export interface AgentdHandler {
  (req: Request, invocation?: Invocation): Promise<Response>;
  /** The agentd of this instance (opened on the first request). */
  app(): Promise<Agentd>;
  /** Waits for the drain under way, then closes the agentd of this instance. */
  close(): Promise<void>;
}

/**
 * agentd as one Web-standard function: the API, the channels' webhooks, the dashboard and `/tick`
 * (GET or POST, `Authorization: Bearer <tick secret>`), on Postgres. Nothing runs between
 * invocations: a webhook persists its message and answers, and its turn runs in this invocation's
 * remaining time when the platform keeps it alive after the answer (`waitUntil`), otherwise on the
 * next tick; the tick drains due work and returns before the function's limit. agentd itself (the
 * kernel, the store, the channels, the API) is loaded on the first request, not with this module.
 */
export function createAgentdHandler(options: AgentdHandlerOptions = {}): AgentdHandler {
  const env = options.env ?? process.env;
  const base = (options.basePath ?? "").replace(/\/+$/, "");
  const created = performance.now();
  let instance: Promise<Instance> | null = null;
  let ticked = false;
  let first = true;

  const open = () => {
    instance ??= openInstance(options, env).catch((e: unknown) => {
      instance = null; // the next invocation tries again (a database that was down may be up)
      throw e;
    });
    return instance;
  };

  const handler = async (req: Request, invocation: Invocation = {}): Promise<Response> => {
    // An instance's first invocation counts from when the handler was made (its cold start), as the platform counts it.
    const since = invocation.deadline !== undefined ? null : first ? created : performance.now();
    first = false;
    let parts: Instance;
    try {
      parts = await open();
    } catch (e) {
      (options.logger ?? defaultLog)({ level: "error", msg: `agentd could not start: ${(e as Error).message}` });
      return Response.json(
        { error: "unavailable", message: "agentd could not start in this function; its log says why" },
        { status: 503 },
      );
    }
    const { app, server, drains, secret, limitMs } = parts;
    // Time kept back from the limit for answering after the drain and its last writes.
    const reserveMs = Math.max(300, Math.min(2_000, limitMs * 0.1));
    const deadline =
      (since === null ? performance.now() + (invocation.deadline as number) - Date.now() : since + limitMs) - reserveMs;
    const url = new URL(req.url);
    if (base && (url.pathname === base || url.pathname.startsWith(`${base}/`)))
      url.pathname = url.pathname.slice(base.length) || "/";
    if (url.pathname === "/tick" && (req.method === "GET" || req.method === "POST")) {
      const refused = checkBearer(req, secret);
      if (refused) return refused;
      const firstInInstance = !ticked;
      ticked = true;
      const report: TickReport = await tick(app, drains, deadline, {
        everyMs: options.tickEveryMs ?? 60_000,
        firstInInstance,
      });
      return Response.json(report);
    }
    const res = await server.fetch(url.href === req.url ? req : new Request(url, req));
    // Work this request may have started (a message, a decision, a retry) runs now when the platform
    // lets the invocation go on after the answer; a live stream runs it while it is open.
    const streams = (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
    const changed = !["GET", "HEAD", "OPTIONS"].includes(req.method) && res.status < 400;
    const keepAlive = invocation.waitUntil ?? options.waitUntil;
    if ((changed || streams) && (keepAlive || streams)) {
      const work = drains
        .run(deadline)
        .catch((e: unknown) =>
          app.log({ level: "error", msg: `the drain after a request failed: ${(e as Error).message}` }),
        );
      keepAlive?.(work);
    }
    return res;
  };

  return Object.assign(handler, {
    app: async () => (await open()).app,
    close: async () => {
      const opened = await instance?.catch(() => null);
      if (!opened) return;
      await opened.drains.settled().catch(() => {});
      await opened.app.close();
      instance = null;
    },
  });
}

interface Instance {
  app: Agentd;
  server: Hono;
  drains: Drains;
  secret: Buffer;
  limitMs: number;
}

/** One instance's agentd, opened on its first request (a bad setting is refused then, not when a build imports the route). */
async function openInstance(options: AgentdHandlerOptions, env: NodeJS.ProcessEnv): Promise<Instance> {
  const secret = Buffer.from(tickSecretOf(options.tickSecret, env));
  const limitMs = timeLimitMsOf(options.timeLimitMs, env);
  const [{ createAgentd }, { loadConfig }, { createServer }] = await Promise.all([
    import("../app.ts"),
    import("../config.ts"),
    import("../api/serve.ts"),
  ]);
  // A function's folder is read-only, except /tmp: what agentd keeps on disk (media) goes there unless set.
  const config = { dataDir: env.AGENTD_DATA ?? "/tmp/agentd", ...options.config };
  checkFunctionConfig(loadConfig(env, config), env);
  const app = await createAgentd({ ...options, env, config, worker: {}, api: true });
  const server = createServer(app, { dashboard: options.dashboard ?? true, mounts: app.configuredChannels.mounts });
  return { app, server, drains: new Drains(app.kernel), secret, limitMs };
}

function checkBearer(req: Request, secret: Buffer): Response | null {
  const given = Buffer.from((req.headers.get("authorization") ?? "").replace(/^Bearer\s+/i, ""));
  if (given.length === secret.length && timingSafeEqual(given, secret)) return null;
  return Response.json(
    {
      error: "unauthorized",
      message: "the tick needs Authorization: Bearer <AGENTD_TICK_SECRET, or CRON_SECRET>",
    },
    { status: 401 },
  );
}

const defaultLog: NonNullable<AgentdOptions["logger"]> = (r) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...r })}\n`);
