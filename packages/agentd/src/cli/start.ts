import { existsSync } from "node:fs";
import { jsonLogger } from "@agentd/kernel";
import { join } from "node:path";
import { NO_MODEL_HINT } from "../agent/model.ts";
import { preloadApi } from "../api/lazy-api.ts";
import { serveApi, type ServedApi } from "../api/serve.ts";
import type { Hono } from "hono";
import { type Agentd, createAgentd } from "../app.ts";
import { type CommandInput, parseCommand } from "./args.ts";
import { CliError } from "./errors.ts";
import { describeStore } from "./store.ts";

type Role = "start" | "serve" | "worker";

/** `agentd start`: store, worker, scheduler and API in one process. */
export const start = (input: CommandInput) => run(input, "start");
/** `agentd serve`: the API only; runs are executed by workers elsewhere. */
export const serve = (input: CommandInput) => run(input, "serve");
/** `agentd worker`: executes runs and fires schedules; no API. */
export const worker = (input: CommandInput) => run(input, "worker");

async function run(input: CommandInput, role: Role): Promise<number> {
  const p = parseCommand(input);
  const tokenFile = join(p.dataDir, "admin.token");
  const firstToken = role !== "worker" && !input.env.AGENTD_ADMIN_TOKEN && !existsSync(tokenFile);
  const stopped = stopSignal();
  const app = await createAgentd({
    env: input.env,
    config: p.config,
    ...(role === "serve" ? { worker: false } : {}),
    ...(role === "worker" ? { api: false } : {}),
  });
  const channels = app.configuredChannels;
  let api: ServedApi | null = null;
  try {
    // The tools' and the turn's code load right after the ready line (warm, below), or by the first turn before it.
    await app.start({ channels: false, warm: false });
    if (role !== "worker") api = await listen(app, channels.mounts);
    app.startChannels();
  } catch (e) {
    await api?.close();
    await app.close();
    throw e;
  }
  const bots = await channels.tenantBots().catch(() => 0);
  const names = bots > 0 ? [...channels.names, `${bots} tenant telegram bot${bots === 1 ? "" : "s"}`] : channels.names;
  process.stdout.write(
    `${readyLine(app, role, api?.url ?? "")}${names.length ? `; channels: ${names.join(", ")}` : ""}\n`,
  );
  // The built-in tools, the turn's code and the API's routes load on first use; once the ready line is
  // out nothing else is waiting, so now, before any request (the tools and the turn first: see warm).
  app.warm();
  if (api) void preloadApi();
  if (firstToken && existsSync(tokenFile))
    process.stdout.write(
      `admin token written to ${tokenFile} (mode 0600): \`agentd chat\` reads it from there; API clients send it as Authorization: Bearer <token>\n`,
    );
  await stopped.promise;
  await api?.close();
  await app.close();
  return 0;
}

/** The one line that says the process is ready, where, on which store and with which model. */
function readyLine(app: Agentd, role: Role, url: string): string {
  const store = describeStore(app.config);
  const model = app.models ? `, model ${app.models.describe}` : "";
  const noModel = app.models ? "" : `; ${NO_MODEL_HINT}`;
  if (role === "worker") return `agentd worker ready (${store}${model})${noModel}`;
  if (role === "serve")
    return `agentd API ready at ${url} (${store}; runs are executed by \`agentd worker\` processes on this store)`;
  return `agentd ready at ${url} (${store}${model})${noModel}`;
}

async function listen(app: Agentd, mounts: { path: string; app: Hono }[]): Promise<ServedApi> {
  const { host, port } = app.config;
  try {
    // The access log is at info, which the app's own log (warnings and errors) does not show: its own lines.
    const accessLog = app.config.accessLog ? jsonLogger(undefined, "info") : undefined;
    return await serveApi(app, { host, port, mounts, ...(accessLog ? { accessLog } : {}) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new CliError(
        `cannot listen on ${host}:${port}: the port is in use (another agentd?); stop that process or set AGENTD_PORT to another port`,
        { cause: e },
      );
    if (code === "EACCES")
      throw new CliError(`cannot listen on ${host}:${port}: permission denied; use a port above 1023 (AGENTD_PORT)`, {
        cause: e,
      });
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND")
      throw new CliError(
        `cannot listen on ${host}:${port}: this machine has no such address; fix AGENTD_HOST (e.g. 127.0.0.1, or 0.0.0.0 for every interface)`,
        { cause: e },
      );
    throw e;
  }
}

/**
 * Resolves on the first SIGINT or SIGTERM, so the caller closes cleanly (runs in flight are left to
 * resume, the API stops accepting). A second signal means "now": exit at once.
 */
function stopSignal(): { promise: Promise<string> } {
  const { promise, resolve } = Promise.withResolvers<string>();
  let received = false;
  const on = (signal: NodeJS.Signals) => {
    if (received) process.exit(130);
    received = true;
    resolve(signal);
  };
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  return { promise };
}
