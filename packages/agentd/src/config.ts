import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type RetryPolicy, toMs } from "@agentd/kernel";
import type { ModelConfig } from "./agent/model.ts";
import type { ChannelsConfig } from "./channels/config.ts";
import { parseTrustedProxies, type TrustedRange } from "./api/client-address.ts";
import { Env, variables } from "./config/variables.ts";
import { AgentdError } from "./errors.ts";
import type { NetPolicy } from "./net/policy.ts";
import { findChromium } from "./tools/browser/chromium.ts";
import type { SearchConfig } from "./tools/web-search/types.ts";

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
  /** The browser tools: the Chromium they drive (null: none found or AGENTD_BROWSER=0, and the tools are not offered), tenants per worker, idle close. */
  browser: { chromium: string | null; maxContexts: number; idleMs: number };
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
    leaseMs: over.leaseMs ?? e.AGENTD_LEASE_MS ?? 10_000,
    modelRetry: over.modelRetry ?? { maxAttempts: 6, initialInterval: "1s", backoffFactor: 2, maxInterval: "1m" },
    maxMediaBytes: over.maxMediaBytes ?? e.AGENTD_MAX_MEDIA_BYTES ?? 20 * 1024 * 1024,
    search: over.search ?? searchConfig(e),
    browser: over.browser ?? {
      chromium: e.AGENTD_BROWSER === false ? null : chromiumAt(e.AGENTD_CHROMIUM),
      maxContexts: e.AGENTD_BROWSER_CONTEXTS ?? 8,
      idleMs: toMs(e.AGENTD_BROWSER_IDLE ?? "5m"),
    },
    channels: over.channels ?? channelsConfig(e),
    runsKept: over.runsKept ?? {
      completed: e.AGENTD_RUNS_KEPT ?? "7d",
      cancelled: e.AGENTD_RUNS_KEPT ?? "7d",
      failed: e.AGENTD_FAILED_RUNS_KEPT ?? "30d",
    },
  };
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

/**
 * The channels' settings. A channel half configured is not wired; what it lacks is kept in
 * `incomplete`, and starting the channels is refused with it (`agentd doctor` still checks its
 * credentials): Twilio signs the webhook's public URL, and the Cloud API needs all four of its settings.
 */
function channelsConfig(e: Env): ChannelsConfig {
  const publicUrl = e.AGENTD_PUBLIC_URL?.replace(/\/+$/, "");
  const incomplete: string[] = [];
  const out: ChannelsConfig = {
    ...(publicUrl ? { publicUrl } : {}),
    telegram: {
      ...(e.TELEGRAM_BOT_TOKEN ? { botToken: e.TELEGRAM_BOT_TOKEN } : {}),
      ...(e.TELEGRAM_WEBHOOK_SECRET ? { webhookSecret: e.TELEGRAM_WEBHOOK_SECRET } : {}),
      ...(e.TELEGRAM_API_ROOT ? { apiRoot: e.TELEGRAM_API_ROOT } : {}),
      ...(e.TELEGRAM_BOTS_RESCAN_MS ? { botsRescanMs: e.TELEGRAM_BOTS_RESCAN_MS } : {}),
    },
  };
  if (e.TWILIO_ACCOUNT_SID && e.TWILIO_AUTH_TOKEN) {
    if (!publicUrl)
      incomplete.push(
        "TWILIO_ACCOUNT_SID is set but AGENTD_PUBLIC_URL is not: set it to the public https URL of this agentd (Twilio signs the webhook URL)",
      );
    else
      out.twilio = {
        accountSid: e.TWILIO_ACCOUNT_SID,
        authToken: e.TWILIO_AUTH_TOKEN,
        ...(e.TWILIO_SMS_FROM ? { smsFrom: e.TWILIO_SMS_FROM } : {}),
        ...(e.TWILIO_WHATSAPP_FROM ? { whatsappFrom: e.TWILIO_WHATSAPP_FROM } : {}),
        ...(e.TWILIO_API_BASE ? { apiBase: e.TWILIO_API_BASE } : {}),
      };
  }
  if (e.WHATSAPP_ACCESS_TOKEN) {
    const missing = (["WHATSAPP_APP_SECRET", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_VERIFY_TOKEN"] as const).filter(
      (k) => !e[k],
    );
    if (missing.length)
      incomplete.push(
        `WHATSAPP_ACCESS_TOKEN is set but ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not: the Cloud API needs the app secret (webhook signatures), the phone number id (where replies come from) and a verify token (the webhook handshake)`,
      );
    else
      out.whatsapp = {
        accessToken: e.WHATSAPP_ACCESS_TOKEN,
        appSecret: e.WHATSAPP_APP_SECRET as string,
        phoneNumberId: e.WHATSAPP_PHONE_NUMBER_ID as string,
        verifyToken: e.WHATSAPP_VERIFY_TOKEN as string,
        ...(e.WHATSAPP_API_BASE ? { apiBase: e.WHATSAPP_API_BASE } : {}),
        ...(e.WHATSAPP_API_VERSION ? { apiVersion: e.WHATSAPP_API_VERSION } : {}),
      };
  }
  return incomplete.length ? { ...out, incomplete } : out;
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
