import { type Clock, jsonLogger, Kernel, type Logger, openSqliteStore, type Store, type WorkerOptions } from "@agentd/kernel";
import { openPostgresStore } from "@agentd/kernel/postgres";
import { embedMany, type LanguageModel } from "ai";
import { join } from "node:path";
import { ChannelRegistry } from "./channels/registry.ts";
import { LocalBlobStore } from "./blobs/local.ts";
import type { BlobStore } from "./blobs/types.ts";
import type { AgentDeps } from "./agent/deps.ts";
import { type Models, resolveModels } from "./agent/model.ts";
import { turnWorkflow } from "./agent/turn.ts";
import { type Config, loadConfig } from "./config.ts";
import { ensureAdminToken, makeDataDir } from "./config/startup.ts";
import { ownerOnlySqlite } from "./db/files.ts";
import { type Db, openDb } from "./db/index.ts";
import { Jobs } from "./jobs/jobs.ts";
import { jobWorkflows } from "./jobs/workflows.ts";
import { MemoryStore } from "./memory/store.ts";
import { HealthChecks } from "./health/checks.ts";
import { Inbox } from "./sessions/inbox.ts";
import { Tenants } from "./tenancy/tenants.ts";
import { builtinTools } from "./tools/builtins.ts";
import { ToolRegistry } from "./tools/registry.ts";
import type { ToolSource } from "./tools/sources/port.ts";
import type { Embedder, Tool } from "./tools/types.ts";
import { BrowserManager, vaultStateStore } from "./tools/browser/index.ts";
import { loadMasterKeys } from "./vault/keys.ts";
import { Vault } from "./vault/vault.ts";

export interface AgentdOptions {
  config?: Partial<Config>;
  env?: NodeJS.ProcessEnv;
  /** Any AI SDK language model (Anthropic, Google, Bedrock, …); overrides the OpenAI-compatible settings. */
  model?: LanguageModel;
  /** More tools to offer (they go through the same schema, policy and approval path). */
  tools?: Tool[];
  /** Sources of tenants' own tools (MCP servers, connected apps): listed per tenant at each turn's start. */
  toolSources?: ToolSource[];
  /** Worker settings; false for a process that serves the API and starts runs but executes none. */
  worker?: WorkerOptions | false;
  clock?: Clock;
  logger?: Logger;
}

/**
 * agentd in one object: the kernel with the agent's workflows, the OS data store, the vault, the
 * tool registry and the inbox. `createAgentd` opens everything; `close` releases it.
 */
export class Agentd {
  readonly config: Config;
  readonly kernel: Kernel;
  readonly store: Store;
  readonly db: Db;
  readonly tenants: Tenants;
  readonly vault: Vault;
  readonly memory: MemoryStore;
  readonly tools: ToolRegistry;
  readonly channels: ChannelRegistry;
  readonly models: Models | null;
  readonly inbox: Inbox;
  readonly jobs: Jobs;
  readonly deps: AgentDeps;
  /** Media people sent (photos, voice notes, documents); messages carry references to it. */
  readonly blobs: BlobStore;
  /** False in an API-only process (`agentd serve`): its runs are executed by workers elsewhere. */
  readonly executesRuns: boolean;
  /** Where log records go (the kernel's and the API's): JSON lines on stderr unless given. */
  readonly log: Logger;
  /** Where channels and other parts report their state for /health and /metrics. */
  readonly health = new HealthChecks();
  /** This worker's browser (one Chromium, a context per tenant), or null when the browser tools are off. */
  readonly browser: BrowserManager | null;

  constructor(parts: { config: Config; store: Store; db: Db; vault: Vault; models: Models | null; extraTools: Tool[]; toolSources?: ToolSource[]; worker?: WorkerOptions | false; clock?: Clock; logger?: Logger }) {
    this.config = parts.config;
    this.store = parts.store;
    this.db = parts.db;
    this.vault = parts.vault;
    this.models = parts.models;
    this.executesRuns = parts.worker !== false;
    this.log = parts.logger ?? jsonLogger();
    const now = parts.clock ? () => parts.clock!.now() : Date.now;
    this.tenants = new Tenants(this.db, now, { toolNames: () => this.tools.names(), timezone: this.config.timezone });
    this.blobs = new LocalBlobStore({ dir: join(this.config.dataDir, "blobs"), scope: (t) => this.tenants.scope(t), maxBytes: this.config.maxMediaBytes, now });
    this.memory = new MemoryStore({ now });
    this.channels = new ChannelRegistry();
    const chromium = this.config.browser.chromium;
    this.browser = chromium
      ? new BrowserManager({
          executablePath: chromium, net: this.config.net, state: vaultStateStore(this.vault, (t) => this.tenants.scope(t)),
          limits: { maxContexts: this.config.browser.maxContexts, idleMs: this.config.browser.idleMs },
        })
      : null;
    this.tools = new ToolRegistry({ log: this.log })
      .register(...builtinTools({ config: this.config, memory: this.memory, tenants: this.tenants, blobs: this.blobs, browser: this.browser }), ...parts.extraTools)
      .addSource(...(parts.toolSources ?? []));
    const flows = jobWorkflows({ tenants: this.tenants, inbox: () => this.inbox, memory: this.memory, now });
    this.jobs = new Jobs(() => this.kernel, flows);
    const embedding = this.models?.embedding ?? null;
    const embedder: Embedder | null = embedding
      ? {
          embed: async (values) => {
            try {
              return (await embedMany({ model: embedding, values, maxRetries: 2 })).embeddings;
            } catch (e) {
              throw new Error(`the embedding model failed: ${this.models!.scrub(e instanceof Error ? e.message : String(e))}`);
            }
          },
        }
      : null;
    this.deps = {
      now,
      tenants: this.tenants, models: this.models, tools: this.tools, memory: this.memory, channels: this.channels, blobs: this.blobs,
      services: { jobs: this.jobs, embedder, net: this.config.net },
      secrets: { reader: (s) => this.vault.reader(s), values: (s) => this.vault.values(s) },
      historyWindow: this.config.historyWindow, compactAfter: this.config.compactAfter, approvalTimeout: this.config.approvalTimeout,
      modelRetry: this.config.modelRetry,
    };
    const turn = turnWorkflow(this.deps);
    this.inbox = new Inbox(this.db, this.tenants, () => this.kernel, turn, now);
    this.kernel = new Kernel({
      store: this.store, workflows: [turn, flows.reminder, flows.recurring, flows.heartbeat], worker: parts.worker ?? { leaseMs: this.config.leaseMs },
      retention: this.config.runsKept,
      ...(parts.clock ? { clock: parts.clock } : {}), logger: this.log,
    });
  }

  /** Starts executing runs (turns, reminders, schedules) and repairs messages a crash left without a turn. */
  async start(): Promise<this> {
    this.kernel.startWorker();
    await this.inbox.recover();
    return this;
  }

  async close(): Promise<void> {
    await this.kernel.close();
    await this.browser?.close();
    await this.store.close();
    await this.db.close();
  }
}

export async function createAgentd(opts: AgentdOptions = {}): Promise<Agentd> {
  const env = opts.env ?? process.env;
  const config = loadConfig(env, opts.config);
  // Starting is what touches the data folder (reading the configuration does not): it is made
  // owner-only unless nothing needs it (Postgres, with the master key and admin token given).
  if (!config.databaseUrl || env.AGENTD_MASTER_KEY === undefined || !config.adminToken) makeDataDir(config.dataDir);
  config.adminToken = ensureAdminToken(config.dataDir, config.adminToken);
  const models = resolveModels(opts.model ? { ...config.model, model: opts.model } : config.model);
  const keys = loadMasterKeys(config.dataDir, env);
  const store = config.databaseUrl
    ? await openPostgresStore({ url: config.databaseUrl, ...(config.pgSchema ? { schema: config.pgSchema } : {}) })
    : await openSqliteStore(ownerOnlySqlite(join(config.dataDir, "agentd.db")));
  let db: Db;
  try {
    db = await openDb({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, pgSchema: config.pgSchema, where: describePg(config.databaseUrl) });
  } catch (e) {
    await store.close();
    throw e;
  }
  return new Agentd({ config, store, db, vault: new Vault(db, keys), models, extraTools: opts.tools ?? [], toolSources: opts.toolSources, worker: opts.worker, clock: opts.clock, logger: opts.logger });
}

/** host:port/database of a Postgres URL, for messages: never its password. */
function describePg(url: string | undefined): string {
  if (!url) return "";
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "postgres";
  }
}
