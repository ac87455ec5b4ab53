import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type RetryPolicy, toMs } from "@agentd/kernel";
import type { ModelConfig } from "./agent/model.ts";
import type { ChannelsConfig } from "./channels/config.ts";
import { parseTrustedProxies, type TrustedRange } from "./api/client-address.ts";
import { channelsConfig } from "./config/channels.ts";
import { composioConfig } from "./config/composio.ts";
import type { ComposioConfig } from "./composio/config.ts";
import { Env, variables } from "./config/variables.ts";
import { AgentdError } from "./errors.ts";
import { McpServerDef } from "./mcp/definition.ts";
import type { NetPolicy } from "./net/policy.ts";
import { DEFAULT_LIMITS } from "./sandbox/limits.ts";
import type { SandboxConfig } from "./sandbox/host.ts";
import { type OAuthApp, parseOperatorApps } from "./connections/apps.ts";
import { findChromium } from "./tools/browser/chromium.ts";
import type { SearchConfig } from "./tools/web-search/types.ts";
import { type MediaConfig, mediaConfig } from "./media/config.ts";

/** Everything agentd reads from its environment, resolved and checked once. */
export interface Config {
  dataDir: string;
  /** Postgres for kernel and OS data (many processes); unset: SQLite files in dataDir. */
  databaseUrl?: string;
  /** Postgres schema (tests give each their own). */
  pgSchema?: string;
  host: string;
  port: number;
  /**
   * The operator's token for the admin API: AGENTD_ADMIN_TOKEN, else data/admin.token; "" until
   * that file is made (createAgentd makes it on first start: reading the configuration writes nothing).
   */
  adminToken: string;
  model: ModelConfig;
  net: NetPolicy;
  /** The time zone of new tenants that name none (AGENTD_TIMEZONE; UTC). */
  timezone: string;
  historyWindow: number;
  compactAfter: number;
  /** How long a tool call waits for a person before it counts as denied. */
  approvalTimeout: string;
  /** Largest request body the API accepts, in bytes. */
  maxBodyBytes: number;
  /** The operator's reverse proxies (AGENTD_TRUSTED_PROXIES): from them, the client's address is taken from X-Forwarded-For. */
  trustedProxies: TrustedRange[];
  /** One log line per HTTP request of `agentd start` / `serve` (AGENTD_ACCESS_LOG, on by default). */
  accessLog: boolean;
  /** A worker's claim on a run lasts this long unrenewed: after a crash, its turns resume elsewhere (or on restart) after at most this. */
  leaseMs: number;
  /** How failed model calls (429, 5xx, broken streams) are retried: durably, with backoff. */
  modelRetry: RetryPolicy;
  /** How long ended runs are kept (AGENTD_RUNS_KEPT, 7d; failed runs AGENTD_FAILED_RUNS_KEPT, 30d): the kernel's retention. */
  runsKept: { completed: string; cancelled: string; failed: string };
  /** Largest photo, voice note or document kept in the blob store, in bytes (AGENTD_MAX_MEDIA_BYTES; 20 MB). */
  maxMediaBytes: number;
  /** web_search's provider, keys and cache (AGENTD_SEARCH_PROVIDER, SEARXNG_URL, BRAVE_SEARCH_API_KEY, TAVILY_API_KEY, AGENTD_SEARCH_CACHE). */
  search: SearchConfig;
  /** Voice notes transcribed, documents read, replies spoken (AGENTD_TRANSCRIPTION_*, AGENTD_SPEECH_*, AGENTD_DOCUMENT_*). */
  media: MediaConfig;
  /** The browser tools: the Chromium they drive (null: none found or AGENTD_BROWSER=0, and the tools are not offered), tenants per worker, idle close. */
  browser: { chromium: string | null; maxContexts: number; idleMs: number };
  /** SSH tunnels accepted at /ssh-relay of the API's server (AGENTD_RELAY_TOKEN), or null: none. */
  relay: { tokens: string[]; sshPort: number } | null;
  /** run_code's sandbox: on or off, bubblewrap's path, whether code may run unsandboxed when it cannot run, the limits. */
  sandbox: SandboxConfig;
  /** MCP servers: the operator's for every tenant (AGENTD_MCP_SERVERS), idle close, connections per tenant in one worker. */
  mcp: { servers: McpServerDef[]; idleMs: number; maxPerTenant: number };
  /** OAuth connections: the operator's apps (AGENTD_OAUTH_APPS), how long a connect link lasts (AGENTD_CONNECT_TIMEOUT), where the callback is (AGENTD_PUBLIC_URL). */
  connections: { apps: OAuthApp[]; linkTtl: string; publicUrl?: string };
  /** Composio: the operator's key, its API, the toolkit versions tools run at (AGENTD_COMPOSIO_*). */
  composio: ComposioConfig;
  /** The channels `createAgentd` wires: Telegram (the deployment's bot and tenants' own), Twilio, WhatsApp's Cloud API. */
  channels: ChannelsConfig;
}

export const DEFAULT_PORT = 8787;

/** A setting in the environment (or the data folder) that agentd refuses to start with; the message names it and says what to do. */
export class ConfigError extends AgentdError<"config"> {
  constructor(message: string) {
    super("config", message);
  }
}

/**
 * The environment's variables checked against their schema (config/variables.ts): the parsed values,
 * or a ConfigError with one sentence per wrong variable, naming it. Empty values count as unset.
 */
export function readEnv(env: NodeJS.ProcessEnv): Env {
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = Env.safeParse(set);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const name = String(i.path[0]);
    const schema = Env.shape[name as keyof typeof Env.shape];
    const shown = schema && variables.get(schema)?.secret ? "" : ` ${JSON.stringify(String(set[name]).slice(0, 80))}`;
    return `${name} is${shown || " set but"} not valid: ${i.message}`;
  });
  throw new ConfigError(problems.join("; "));
}

/** The configuration from `env` (checked: a wrong value is a ConfigError naming it), with `over` taking precedence. No side effects. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, over: Partial<Config> = {}): Config {
  const e = readEnv(env);
  const dataDir = resolve(over.dataDir ?? e.AGENTD_DATA ?? "data");
  const adminToken =
    over.adminToken ??
    (e.AGENTD_ADMIN_TOKEN !== undefined
      ? checkedAdminToken(e.AGENTD_ADMIN_TOKEN, "AGENTD_ADMIN_TOKEN")
      : (readAdminTokenFile(dataDir) ?? ""));
  return {
    dataDir,
    databaseUrl: over.databaseUrl ?? e.DATABASE_URL,
    pgSchema: over.pgSchema ?? e.AGENTD_PG_SCHEMA,
    host: over.host ?? e.AGENTD_HOST ?? "127.0.0.1",
    port: over.port ?? e.AGENTD_PORT ?? e.PORT ?? DEFAULT_PORT,
    adminToken,
    model: over.model ?? {
      id: e.AGENTD_MODEL ?? "gpt-4o-mini",
      apiKey: e.AGENTD_MODEL_API_KEY ?? e.OPENAI_API_KEY,
      baseURL: e.AGENTD_MODEL_BASE_URL ?? e.OPENAI_BASE_URL,
      embeddingId: e.AGENTD_EMBEDDING_MODEL,
      summaryId: e.AGENTD_SUMMARY_MODEL,
      ...(e.AGENTD_MODEL_IMAGES === false ? { images: false } : {}),
      ...(e.AGENTD_MODEL_PDFS ? { pdfs: true } : {}),
    },
    net: over.net ?? {
      allowPrivate: e.AGENTD_ALLOW_PRIVATE_NET ?? false,
      allowHosts: (e.AGENTD_ALLOW_HOSTS ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    },
    timezone: over.timezone ?? e.AGENTD_TIMEZONE ?? "UTC",
    historyWindow: over.historyWindow ?? e.AGENTD_HISTORY_WINDOW ?? 20,
    compactAfter: over.compactAfter ?? e.AGENTD_COMPACT_AFTER ?? 10,
    approvalTimeout: over.approvalTimeout ?? e.AGENTD_APPROVAL_TIMEOUT ?? "24h",
    maxBodyBytes: over.maxBodyBytes ?? e.AGENTD_MAX_BODY_BYTES ?? 1024 * 1024,
    trustedProxies: over.trustedProxies ?? parseTrustedProxies(e.AGENTD_TRUSTED_PROXIES ?? ""),
    accessLog: over.accessLog ?? e.AGENTD_ACCESS_LOG ?? true,
    leaseMs: over.leaseMs ?? e.AGENTD_LEASE_MS ?? 10_000,
    modelRetry: over.modelRetry ?? { maxAttempts: 6, initialInterval: "1s", backoffFactor: 2, maxInterval: "1m" },
    maxMediaBytes: over.maxMediaBytes ?? e.AGENTD_MAX_MEDIA_BYTES ?? 20 * 1024 * 1024,
    search: over.search ?? searchConfig(e),
    media: over.media ?? mediaConfig(e),
    relay: over.relay !== undefined ? over.relay : relayConfig(e.AGENTD_RELAY_TOKEN, e.AGENTD_RELAY_SSH_PORT),
    browser: over.browser ?? {
      chromium: e.AGENTD_BROWSER === false ? null : chromiumAt(e.AGENTD_CHROMIUM),
      maxContexts: e.AGENTD_BROWSER_CONTEXTS ?? 8,
      idleMs: toMs(e.AGENTD_BROWSER_IDLE ?? "5m"),
    },
    sandbox: over.sandbox ?? {
      enabled: e.AGENTD_SANDBOX ?? true,
      bwrap: e.AGENTD_BWRAP ?? "/usr/bin/bwrap",
      allowUnsandboxed: e.AGENTD_UNSANDBOXED_CODE ?? false,
      limits: {
        ...DEFAULT_LIMITS,
        wallMs: toMs(e.AGENTD_SANDBOX_TIMEOUT ?? "30s"),
        memoryBytes: (e.AGENTD_SANDBOX_MEMORY_MB ?? 2048) * 1024 * 1024,
      },
      workspaceBytes: (e.AGENTD_SANDBOX_WORKSPACE_MB ?? 1024) * 1024 * 1024,
    },
    mcp: over.mcp ?? {
      servers: operatorMcpServers(e.AGENTD_MCP_SERVERS),
      idleMs: toMs(e.AGENTD_MCP_IDLE ?? "5m"),
      maxPerTenant: e.AGENTD_MCP_CONNECTIONS ?? 8,
    },
    channels: over.channels ?? channelsConfig(e),
    connections: over.connections ?? connectionsConfig(e),
    composio: over.composio ?? composioConfig(e),
    runsKept: over.runsKept ?? {
      completed: e.AGENTD_RUNS_KEPT ?? "7d",
      cancelled: e.AGENTD_RUNS_KEPT ?? "7d",
      failed: e.AGENTD_FAILED_RUNS_KEPT ?? "30d",
    },
  };
}

/** The operator's MCP servers, every tenant's: a JSON list of definitions, checked as the API checks a tenant's. */
function operatorMcpServers(json: string | undefined): McpServerDef[] {
  if (!json?.trim()) return [];
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    throw new ConfigError(
      'AGENTD_MCP_SERVERS is not JSON: give a list such as [{"name":"docs","transport":"http","url":"https://…"}]',
    );
  }
  const parsed = McpServerDef.array().max(50).safeParse(list);
  if (!parsed.success)
    throw new ConfigError(
      `AGENTD_MCP_SERVERS: ${parsed.error.issues.map((i) => `${i.path.join(".") || "the list"}: ${i.message}`).join("; ")}`,
    );
  const names = parsed.data.map((s) => s.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new ConfigError(`AGENTD_MCP_SERVERS names the server "${twice}" twice: names must differ`);
  return parsed.data;
}

function connectionsConfig(e: Env): Config["connections"] {
  let apps: OAuthApp[];
  try {
    apps = parseOperatorApps(e.AGENTD_OAUTH_APPS);
  } catch (err) {
    throw new ConfigError(`AGENTD_OAUTH_APPS is not valid: ${(err as Error).message}`);
  }
  const publicUrl = e.AGENTD_PUBLIC_URL?.replace(/\/+$/, "");
  return { apps, linkTtl: e.AGENTD_CONNECT_TIMEOUT ?? "1h", ...(publicUrl ? { publicUrl } : {}) };
}

/** Debian's Chromium, or the one AGENTD_CHROMIUM names (which must be there). */
function chromiumAt(path: string | undefined): string | null {
  const found = findChromium(path);
  if (path && !found)
    throw new ConfigError(
      `AGENTD_CHROMIUM is ${JSON.stringify(path)} but no executable is there: install chromium (apt-get install chromium), fix the path, or set AGENTD_BROWSER=0`,
    );
  return found;
}

/** The deployment's search provider: the one named, or the one whose URL or key is set; a named one without its credential is an error. */
function searchConfig(e: Env): SearchConfig {
  const needs = { searxng: "SEARXNG_URL", brave: "BRAVE_SEARCH_API_KEY", tavily: "TAVILY_API_KEY" } as const;
  const has = { searxng: e.SEARXNG_URL, brave: e.BRAVE_SEARCH_API_KEY, tavily: e.TAVILY_API_KEY };
  const named = e.AGENTD_SEARCH_PROVIDER;
  if (named && !has[named])
    throw new ConfigError(
      `AGENTD_SEARCH_PROVIDER is ${named} but ${needs[named]} is not set: set it, or choose another provider`,
    );
  const provider = named ?? (has.searxng ? "searxng" : has.brave ? "brave" : has.tavily ? "tavily" : null);
  return {
    provider,
    ...(e.SEARXNG_URL ? { searxngUrl: e.SEARXNG_URL } : {}),
    ...(e.BRAVE_SEARCH_API_KEY ? { braveApiKey: e.BRAVE_SEARCH_API_KEY } : {}),
    ...(e.BRAVE_SEARCH_API_BASE ? { braveApiBase: e.BRAVE_SEARCH_API_BASE } : {}),
    ...(e.TAVILY_API_KEY ? { tavilyApiKey: e.TAVILY_API_KEY } : {}),
    ...(e.TAVILY_API_BASE ? { tavilyApiBase: e.TAVILY_API_BASE } : {}),
    cacheMs: toMs(e.AGENTD_SEARCH_CACHE ?? "10m"),
  };
}

const COMMON_TOKENS = new Set([
  "password",
  "changeme",
  "change-me",
  "admin",
  "secret",
  "token",
  "letmein",
  "agentd",
  "test",
]);

/**
 * Why an admin token is too weak to guard the admin API, or null: it must be long (16+ characters)
 * and not a word or a repeated pattern (at least 8 distinct characters).
 */
export function weakAdminToken(token: string): string | null {
  const t = token.trim();
  if (t.length < 16) return `it is ${t.length} characters long`;
  if (COMMON_TOKENS.has(t.toLowerCase().replace(/[0-9_-]+$/, ""))) return "it is a common word";
  if (new Set(t).size < 8) return `it uses only ${new Set(t).size} distinct characters`;
  return null;
}

export function checkedAdminToken(token: string, where: string): string {
  const weak = weakAdminToken(token);
  if (weak)
    throw new ConfigError(
      `${where} is too weak to guard the admin API (${weak}): use 16 or more random characters, e.g. \`openssl rand -base64 32\`, ` +
        "or unset AGENTD_ADMIN_TOKEN and let agentd write one to <data>/admin.token",
    );
  return token;
}

export const ADMIN_TOKEN_FILE = "admin.token";

/** The admin token kept in the data folder, or null when it is not made yet. */
function readAdminTokenFile(dataDir: string): string | null {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  if (!existsSync(path)) return null;
  return checkedAdminToken(readFileSync(path, "utf8").trim(), `the admin token in ${path}`);
}

/** The relay's tokens from AGENTD_RELAY_TOKEN (null when unset); each must be long enough to guess at no rate. */
function relayConfig(raw: string | undefined, sshPort: number | undefined): Config["relay"] {
  if (raw === undefined || raw.trim() === "") return null;
  const tokens = raw
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  if (tokens.some((t) => t.length < 16))
    throw new ConfigError("AGENTD_RELAY_TOKEN: each token (comma-separated) must have 16 or more characters");
  return { tokens, sshPort: sshPort ?? 22 };
}
