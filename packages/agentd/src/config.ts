import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { RetryPolicy } from "@agentd/kernel";
import type { ModelConfig } from "./agent/model.ts";
import type { NetPolicy } from "./tools/types.ts";

/** Everything agentd reads from its environment, resolved once. */
export interface Config {
  dataDir: string;
  /** Postgres for kernel and OS data (many processes); unset: SQLite files in dataDir. */
  databaseUrl?: string;
  /** Postgres schema (tests give each their own). */
  pgSchema?: string;
  host: string;
  port: number;
  /** The operator's token for the admin API (AGENTD_ADMIN_TOKEN, else data/admin.token, made on first start). */
  adminToken: string;
  model: ModelConfig;
  net: NetPolicy;
  historyWindow: number;
  compactAfter: number;
  /** How long a tool call waits for a person before it counts as denied. */
  approvalTimeout: string;
  /** Largest request body the API accepts, in bytes. */
  maxBodyBytes: number;
  /** A worker's claim on a run lasts this long unrenewed: after a crash, its turns resume elsewhere (or on restart) after at most this. */
  leaseMs: number;
  /** How failed model calls (429, 5xx, broken streams) are retried: durably, with backoff. */
  modelRetry: RetryPolicy;
  /** Largest photo, voice note or document kept in the blob store, in bytes (AGENTD_MAX_MEDIA_BYTES; 20 MB). */
  maxMediaBytes: number;
}

export const DEFAULT_PORT = 8787;

/** A setting in the environment (or the data folder) that agentd refuses to start with; the message names it and says what to do. */
export class ConfigError extends Error {
  readonly code = "config";
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const COMMON_TOKENS = new Set(["password", "changeme", "change-me", "admin", "secret", "token", "letmein", "agentd", "test"]);

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

function checkedAdminToken(token: string, where: string): string {
  const weak = weakAdminToken(token);
  if (weak)
    throw new ConfigError(
      `${where} is too weak to guard the admin API (${weak}): use 16 or more random characters, e.g. \`openssl rand -base64 32\`, ` +
        "or unset AGENTD_ADMIN_TOKEN and let agentd write one to <data>/admin.token",
    );
  return token;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, over: Partial<Config> = {}): Config {
  const dataDir = resolve(over.dataDir ?? env.AGENTD_DATA ?? "data");
  const num = (v: string | undefined, d: number) => (v && Number.isFinite(Number(v)) ? Number(v) : d);
  return {
    dataDir,
    databaseUrl: over.databaseUrl ?? (env.DATABASE_URL || undefined),
    pgSchema: over.pgSchema ?? (env.AGENTD_PG_SCHEMA || undefined),
    host: over.host ?? env.AGENTD_HOST ?? "127.0.0.1",
    port: over.port ?? num(env.AGENTD_PORT ?? env.PORT, DEFAULT_PORT),
    adminToken: over.adminToken ?? (env.AGENTD_ADMIN_TOKEN !== undefined ? checkedAdminToken(env.AGENTD_ADMIN_TOKEN, "AGENTD_ADMIN_TOKEN") : adminTokenFile(dataDir)),
    model: over.model ?? {
      id: env.AGENTD_MODEL || "gpt-4o-mini",
      apiKey: env.AGENTD_MODEL_API_KEY || env.OPENAI_API_KEY || undefined,
      baseURL: env.AGENTD_MODEL_BASE_URL || env.OPENAI_BASE_URL || undefined,
      embeddingId: env.AGENTD_EMBEDDING_MODEL || undefined,
      summaryId: env.AGENTD_SUMMARY_MODEL || undefined,
    },
    net: over.net ?? {
      allowPrivate: env.AGENTD_ALLOW_PRIVATE_NET === "1",
      allowHosts: (env.AGENTD_ALLOW_HOSTS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    },
    historyWindow: over.historyWindow ?? num(env.AGENTD_HISTORY_WINDOW, 20),
    compactAfter: over.compactAfter ?? num(env.AGENTD_COMPACT_AFTER, 10),
    approvalTimeout: over.approvalTimeout ?? env.AGENTD_APPROVAL_TIMEOUT ?? "24h",
    maxBodyBytes: over.maxBodyBytes ?? num(env.AGENTD_MAX_BODY_BYTES, 1024 * 1024),
    leaseMs: over.leaseMs ?? num(env.AGENTD_LEASE_MS, 10_000),
    modelRetry: over.modelRetry ?? { maxAttempts: 6, initialInterval: "1s", backoffFactor: 2, maxInterval: "1m" },
    maxMediaBytes: over.maxMediaBytes ?? num(env.AGENTD_MAX_MEDIA_BYTES, 20 * 1024 * 1024),
  };
}

/** The admin token kept in the data folder, readable by its owner only; made on first start. */
function adminTokenFile(dataDir: string): string {
  const path = join(dataDir, "admin.token");
  if (existsSync(path)) {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return checkedAdminToken(readFileSync(path, "utf8").trim(), `the admin token in ${path}`);
  }
  mkdirSync(dataDir, { recursive: true });
  const token = `adm_${randomBytes(24).toString("base64url")}`;
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
  return token;
}
