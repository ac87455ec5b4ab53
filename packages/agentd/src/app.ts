import {
  type Clock,
  jsonLogger,
  Kernel,
  type Logger,
  openSqliteStore,
  type Store,
  type WorkerOptions,
  type Workflow,
} from "@agentd/kernel";
import { openPostgresStore } from "@agentd/kernel/postgres";
import { embedMany, type LanguageModel } from "ai";
import { join } from "node:path";
import { channelDecisions } from "./channels/decisions.ts";
import { type ChannelModules, type ConfiguredChannels, loadChannelModules, wireChannels } from "./channels/index.ts";
import type { ChannelHost } from "./channels/ports.ts";
import { ChannelRegistry } from "./channels/registry.ts";
import type { BotsHost } from "./channels/telegram/bots.ts";
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
  /** False for a process that serves no API (`agentd worker`): its channels mount no webhooks and point no provider at it. */
  api?: boolean;
  clock?: Clock;
  logger?: Logger;
  /** Where the channels' lines go (a link down, a webhook set, a message failed): stderr as `agentd: …` by default. */
  channelLog?: (line: string) => void;
}

/**
 * agentd in one object: the kernel with the agent's workflows, the OS data store, the vault, the
 * tool registry, the inbox and the channels of its configuration. `createAgentd` opens everything;
 * `start` executes runs and runs the channels; `close` releases it.
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
  /** The channels' adapters in this process: deliveries go out through them. */
  readonly channels: ChannelRegistry;
  /** The channels of the configuration (webhooks to mount, pollers to run) and the tenants' own Telegram bots. */
  readonly configuredChannels: ConfiguredChannels;
  /** The ports channels are built on (inbox, decisions, tenants, blobs, health, adapters, the OS store): for a channel built by hand. */
  readonly channelHost: ChannelHost & BotsHost;
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
  readonly #running = new AbortController();
  #channelsRunning = false;

  constructor(parts: {
    config: Config;
    store: Store;
    db: Db;
    vault: Vault;
    models: Models | null;
    extraTools: Tool[];
    toolSources?: ToolSource[];
    worker?: WorkerOptions | false;
    api?: boolean;
    clock?: Clock;
    logger?: Logger;
    channelLog?: (line: string) => void;
    channelModules?: ChannelModules;
  }) {
    this.config = parts.config;
    this.store = parts.store;
    this.db = parts.db;
    this.vault = parts.vault;
    this.models = parts.models;
    this.executesRuns = parts.worker !== false;
    this.log = parts.logger ?? jsonLogger();
    const now = parts.clock ? () => parts.clock!.now() : Date.now;
    // Each part is made after what it uses. The kernel comes first, with no workflows: they need the
    // inbox and the jobs, which start runs on it, so they are registered on it once they exist.
    // The tenants check settings against the tools' names, and some tools read tenants' settings:
    // the registry is made first, the tenants ask it, and the tools are registered on it after.
    const tools = new ToolRegistry({ log: this.log });
    this.tools = tools;
    this.tenants = new Tenants(this.db, now, { toolNames: () => tools.names(), timezone: this.config.timezone });
    this.memory = new MemoryStore({ now });
    this.blobs = new LocalBlobStore({
      dir: join(this.config.dataDir, "blobs"),
      scope: (t) => this.tenants.scope(t),
      maxBytes: this.config.maxMediaBytes,
      now,
    });
    this.channels = new ChannelRegistry();
    const chromium = this.config.browser.chromium;
    this.browser = chromium
      ? new BrowserManager({
          executablePath: chromium,
          net: this.config.net,
          state: vaultStateStore(this.vault, (t) => this.tenants.scope(t)),
          limits: { maxContexts: this.config.browser.maxContexts, idleMs: this.config.browser.idleMs },
        })
      : null;
    tools
      .register(
        ...builtinTools({
          config: this.config,
          memory: this.memory,
          tenants: this.tenants,
          blobs: this.blobs,
          browser: this.browser,
        }),
        ...parts.extraTools,
      )
      .addSource(...(parts.toolSources ?? []));
    this.kernel = new Kernel({
      store: this.store,
      worker: parts.worker ?? { leaseMs: this.config.leaseMs },
      retention: this.config.runsKept,
      ...(parts.clock ? { clock: parts.clock } : {}),
      logger: this.log,
    });
    this.jobs = new Jobs(this.kernel);
    this.deps = {
      now,
      tenants: this.tenants,
      models: this.models,
      tools: this.tools,
      memory: this.memory,
      channels: this.channels,
      blobs: this.blobs,
      services: { jobs: this.jobs, embedder: embedderOf(this.models), net: this.config.net },
      secrets: { reader: (s) => this.vault.reader(s), values: (s) => this.vault.values(s) },
      historyWindow: this.config.historyWindow,
      compactAfter: this.config.compactAfter,
      approvalTimeout: this.config.approvalTimeout,
      modelRetry: this.config.modelRetry,
    };
    const turn = turnWorkflow(this.deps);
    this.inbox = new Inbox(this.db, this.tenants, this.kernel, turn, now);
    const flows = jobWorkflows({ tenants: this.tenants, inbox: this.inbox, memory: this.memory, now });
    for (const w of [turn, flows.reminder, flows.recurring, flows.heartbeat])
      this.kernel.registry.add(w as Workflow<never, unknown>);

    const blobs = this.blobs;
    this.channelHost = {
      inbox: this.inbox,
      decisions: channelDecisions({ tenants: this.tenants, events: this.kernel, now }),
      tenants: this.tenants,
      blobs: { put: (t, data, meta) => blobs.put(t, data, meta), maxBytes: this.config.maxMediaBytes },
      health: this.health,
      adapters: this.channels,
      db: this.db,
      vault: this.vault,
      now,
    };
    this.configuredChannels = wireChannels(this.channelHost, this.config.channels, {
      role: { api: parts.api ?? true, worker: this.executesRuns },
      modules: parts.channelModules ?? {},
      store: { databaseUrl: this.config.databaseUrl, pgSchema: this.config.pgSchema },
      ...(parts.channelLog ? { log: parts.channelLog } : {}),
    });
  }

  /**
   * Starts executing runs (turns, reminders, schedules), repairing messages a crash left without a
   * turn, then the channels (see startChannels). `channels: false` leaves them to the caller: a
   * process that starts them once its API listens, a test that drives channels by hand.
   */
  async start(opts: { channels?: boolean } = {}): Promise<this> {
    if (this.executesRuns) {
      this.kernel.startWorker();
      await this.inbox.recover();
    }
    if (opts.channels ?? true) this.startChannels();
    return this;
  }

  /** Starts the channels' background work until `close`: long polling, rescans of tenants' bots, setWebhook. Idempotent. */
  startChannels(): this {
    if (!this.#channelsRunning && !this.#running.signal.aborted) this.configuredChannels.run(this.#running.signal);
    this.#channelsRunning = true;
    return this;
  }

  async close(): Promise<void> {
    this.#running.abort();
    this.configuredChannels.close();
    await this.kernel.close();
    await this.browser?.close();
    await this.store.close();
    await this.db.close();
  }
}

/** Embeddings for memory search through the configured model, when there is one; its errors scrubbed of secrets. */
function embedderOf(models: Models | null): Embedder | null {
  const embedding = models?.embedding ?? null;
  if (!embedding) return null;
  return {
    embed: async (values) => {
      try {
        return (await embedMany({ model: embedding, values, maxRetries: 2 })).embeddings;
      } catch (e) {
        throw new Error(`the embedding model failed: ${models!.scrub(e instanceof Error ? e.message : String(e))}`);
      }
    },
  };
}

export async function createAgentd(opts: AgentdOptions = {}): Promise<Agentd> {
  const env = opts.env ?? process.env;
  const config = loadConfig(env, opts.config);
  const channelModules = await loadChannelModules(config.channels);
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
    db = await openDb({
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl,
      pgSchema: config.pgSchema,
      where: describePg(config.databaseUrl),
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  return new Agentd({
    config,
    store,
    db,
    vault: new Vault(db, keys),
    models,
    extraTools: opts.tools ?? [],
    toolSources: opts.toolSources,
    worker: opts.worker,
    api: opts.api,
    clock: opts.clock,
    logger: opts.logger,
    channelLog: opts.channelLog,
    channelModules,
  });
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
