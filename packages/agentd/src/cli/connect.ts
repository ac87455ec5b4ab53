import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_PORT, readEnv } from "../config.ts";
import type { CommandInput, Parsed } from "./args.ts";
import { ApiClient, isUnreachable, networkCause } from "./client.ts";
import { CliError } from "./errors.ts";
import { describeStore } from "./store.ts";

/** The agentd a client command talks to: one already running, or one started in this process. */
export interface Target {
  client: ApiClient;
  /** True for the admin token (routes then need a tenant named); false for a tenant's API key. */
  admin: boolean;
  /** The URL that was tried first. */
  asked: string;
  /** The store (and log file) of the agentd run in this process, for messages; null when talking to a running one. */
  embedded: string | null;
  /** How to configure a model, when the embedded agentd has none (a running one's is not ours to check). */
  modelHint: string | null;
  /** Stops what this command started; an embedded agentd first lets the given runs finish (bounded). */
  close(runIds?: string[]): Promise<void>;
}

/** The embedded agentd's log, in the data folder. */
const CHAT_LOG = "chat.log";

/** How long an embedded agentd waits, at exit, for turns whose reply arrived to finish their last steps. */
const SETTLE_MS = 15_000;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** --url, else $AGENTD_URL, else where `agentd start` listens by default settings (AGENTD_HOST, AGENTD_PORT). */
export function apiUrl(p: Parsed, env: NodeJS.ProcessEnv): string {
  const given = (p.values.url as string | undefined) ?? env.AGENTD_URL;
  if (given) return given.replace(/\/+$/, "");
  let host = env.AGENTD_HOST || "127.0.0.1";
  if (host === "0.0.0.0" || host === "::") host = "127.0.0.1"; // listening everywhere: reach it on loopback
  if (host.includes(":")) host = `[${host}]`;
  return `http://${host}:${env.AGENTD_PORT || env.PORT || DEFAULT_PORT}`;
}

/** The admin token a client sends: AGENTD_ADMIN_TOKEN, else the data folder's admin.token; null if neither. */
export function adminToken(env: NodeJS.ProcessEnv, dataDir: string): string | null {
  if (env.AGENTD_ADMIN_TOKEN) return env.AGENTD_ADMIN_TOKEN;
  const file = join(dataDir, "admin.token");
  return existsSync(file) ? readFileSync(file, "utf8").trim() || null : null;
}

/**
 * Finds the agentd to talk to. If nothing listens at the URL and it is on this machine, runs agentd
 * here (store, worker, API on a free loopback port) and talks to that over HTTP, as to any other.
 */
export async function connect(input: CommandInput, p: Parsed): Promise<Target> {
  readEnv(input.env); // a wrong AGENTD_PORT or AGENTD_URL is named, not turned into a URL that is not one
  const url = apiUrl(p, input.env);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`${JSON.stringify(url)} is not a URL: give --url (or AGENTD_URL) as http://host:port`);
  }
  const apiKey = input.env.AGENTD_API_KEY || null;
  try {
    await fetch(`${url}/health`, { signal: AbortSignal.timeout(3000) });
  } catch (e) {
    if (!(isUnreachable(e) && LOOPBACK.has(parsed.hostname)))
      throw new CliError(`cannot reach agentd at ${url}: ${networkCause(e)}`, { cause: e, code: "cli_unreachable" });
    return embed(input, p, url, apiKey);
  }
  const token = apiKey ?? adminToken(input.env, p.dataDir);
  if (!token)
    throw new CliError(
      `no token to talk to agentd at ${url}: set AGENTD_ADMIN_TOKEN to its admin token (in its data folder's admin.token), ` +
        `pass --data <its data folder>, or set AGENTD_API_KEY to a tenant's API key`,
    );
  return {
    client: new ApiClient(url, token),
    admin: !apiKey,
    asked: url,
    embedded: null,
    modelHint: null,
    close: async () => {},
  };
}

async function embed(input: CommandInput, p: Parsed, asked: string, apiKey: string | null): Promise<Target> {
  // Loaded only here: a client of a running agentd needs none of it.
  const { createAgentd } = await import("../app.ts");
  const { serveApi } = await import("../api/index.ts");
  const { NO_MODEL_HINT } = await import("../agent/model.ts");
  const { jsonLogger } = await import("@agentd/kernel");
  const { makeDataDir } = await import("../config/startup.ts");
  // Its log goes to a file: JSON lines on the terminal would land in the middle of the conversation.
  makeDataDir(p.dataDir);
  const logFile = join(p.dataDir, CHAT_LOG);
  const logger = jsonLogger((line) => appendFileSync(logFile, line, { mode: 0o600 }));
  const app = await createAgentd({ env: input.env, config: { ...p.config, host: "127.0.0.1", port: 0 }, logger });
  try {
    await app.start();
    const api = await serveApi(app, { host: "127.0.0.1", port: 0 });
    return {
      client: new ApiClient(api.url, apiKey ?? app.config.adminToken),
      admin: !apiKey,
      asked,
      embedded: `${describeStore(app.config)}; its log goes to ${logFile}`,
      modelHint: app.models ? null : NO_MODEL_HINT,
      close: async (runIds = []) => {
        await api.close();
        // A reply arrives before its turn ends (delivery, compaction follow): let them end here
        // rather than leave them to the next start.
        const settled = Promise.allSettled(runIds.map((id) => app.kernel.result(id)));
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, SETTLE_MS)))]);
        clearTimeout(timer);
        await app.close();
      },
    };
  } catch (e) {
    await app.close();
    throw e;
  }
}
