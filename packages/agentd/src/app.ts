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
import { join } from "node:path";
import { Webhooks } from "./webhooks/service.ts";
import { type ChannelModules, type ConfiguredChannels, loadChannelModules, wireChannels } from "./channels/index.ts";
import type { ChannelHost } from "./channels/ports.ts";
import { ChannelRegistry } from "./channels/registry.ts";
import { channelHostOf } from "./channels/host-of.ts";
import type { BotsHost } from "./channels/telegram/bots.ts";
import { LocalBlobStore } from "./blobs/local.ts";
import type { BlobStore } from "./blobs/types.ts";
import type { AgentDeps } from "./agent/deps.ts";
import { embedderOf } from "./agent/embedder.ts";
import { type Models, resolveModels } from "./agent/model.ts";
import { lazyTurnWorkflow } from "./agent/turn-workflow.ts";
import { type Config, loadConfig } from "./config.ts";
import { ensureAdminToken, makeDataDir } from "./config/startup.ts";
import { ownerOnlySqlite } from "./db/files.ts";
import { type Db, openDb } from "./db/index.ts";
import { describePg } from "./db/describe-pg.ts";
import { Jobs } from "./jobs/jobs.ts";
import type { McpPool } from "./mcp/pool.ts";
import type { McpServers } from "./mcp/servers.ts";
import type { McpSource } from "./mcp/source.ts";
import { jobWorkflows } from "./jobs/workflows.ts";
import { MemoryStore } from "./memory/store.ts";
import { Speaker } from "./media/speech.ts";
import { HealthChecks } from "./health/checks.ts";
import type { Connections } from "./connections/service.ts";
import type { ComposioService } from "./composio/service.ts";
import { Inbox } from "./sessions/inbox.ts";
import { Tenants } from "./tenancy/tenants.ts";
import type { SshService } from "./ssh/service.ts";
import type { SandboxHost } from "./sandbox/host.ts";
import { ToolRegistry } from "./tools/registry.ts";
import type { ToolSource } from "./tools/sources/port.ts";
import type { Tool } from "./tools/types.ts";
import type { BrowserManager } from "./tools/browser/index.ts";
import { loadMasterKeys } from "./vault/keys.ts";
import { Vault } from "./vault/vault.ts";

import { type AgentdOptions, WORKER_CONCURRENCY } from "./app-options.ts";
import { lazyPort, load, Services } from "./app-services.ts";

export type { AgentdOptions };

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
  /** Outgoing webhooks (webhooks/). */
  readonly webhooks: Webhooks;
  /** Media people sent (photos, voice notes, documents); messages carry references to it. */
  readonly blobs: BlobStore;
  /** False in an API-only process (`agentd serve`): its runs are executed by workers elsewhere. */
  readonly executesRuns: boolean;
  /** Where log records go (the kernel's and the API's): JSON lines on stderr unless given. */
  readonly log: Logger;
  /** Where channels and other parts report their state for /health and /metrics. */
  readonly health = new HealthChecks();
  /** Tenants' MCP servers: their definitions, the open connections, the source of their tools. */
  get mcp(): { servers: McpServers; pool: McpPool; source: McpSource } {
    return this.#services.mcp;
  }
  /** The tenants' OAuth connections: the apps they may connect, the authorizations, the tokens (in the vault) and their refresh. */
  get connections(): Connections {
    return this.#services.connections;
  }
  /** Composio's toolkits for every tenant (src/composio): its accounts, Connect Links, the source of its tools. */
  get composio(): ComposioService {
    return this.#services.composio;
  }
  /** This worker's browser (one Chromium, a context per tenant), or null when the browser tools are off. */
  get browser(): BrowserManager | null {
    return this.#services.browser;
  }
  /** SSH hosts, keys and connections (src/ssh). */
  get ssh(): SshService {
    return this.#services.ssh;
  }
  /** The machine's sandbox for run_code and stdio MCP servers (probed on first use), or null when AGENTD_SANDBOX=0. */
  get sandbox(): SandboxHost | null {
    return this.#services.sandbox;
  }
  /** The services above, each built (and its modules loaded) on first use. */
  readonly #services: Services;
  readonly #running = new AbortController();
  readonly #loadTurn: () => void;
  #channelsRunning = false;

  constructor(parts: {
    config: Config;
    store: Store;
    db: Db;
    vault: Vault;
    models: Models | null;
    extraTools: Tool[];
    toolSources?: ToolSource[];
    mcp?: AgentdOptions["mcp"];
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
    this.tenants = new Tenants(this.db, now, {
      toolNames: () => tools.names(),
      timezone: this.config.timezone,
      cacheKeys: true,
    });
    this.memory = new MemoryStore({ now });
    this.blobs = new LocalBlobStore({
      dir: join(this.config.dataDir, "blobs"),
      scope: (t) => this.tenants.scope(t),
      maxBytes: this.config.maxMediaBytes,
      now,
    });
    this.channels = new ChannelRegistry();
    const services = new Services({
      config: this.config,
      db: this.db,
      vault: this.vault,
      blobs: this.blobs,
      now,
      log: this.log,
      scope: (t) => this.tenants.scope(t),
      kernel: () => this.kernel,
      mcp: parts.mcp,
    });
    this.#services = services;
    tools
      .registerLater(() =>
        load<typeof import("./tools/builtins.ts")>("./tools/builtins.ts").builtinTools({
          mcp: services.mcp.servers,
          config: this.config,
          memory: this.memory,
          tenants: this.tenants,
          blobs: this.blobs,
          browser: services.browser,
          ssh: services.ssh,
          sandbox: services.sandbox,
        }),
      )
      .register(...parts.extraTools)
      .addSource(...(parts.toolSources ?? []));
    // A program may bring its own source named "mcp" or "composio" (tests of the registry do): it replaces ours.
    const own = (id: string) => (parts.toolSources ?? []).some((s) => s.id === id);
    if (!own("mcp")) tools.addSource(services.source("mcp", () => services.mcp.source));
    if (!own("composio")) tools.addSource(services.source("composio", () => services.composio.source));
    this.kernel = new Kernel({
      store: this.store,
      worker: parts.worker ?? { leaseMs: this.config.leaseMs, concurrency: WORKER_CONCURRENCY },
      retention: this.config.runsKept,
      ...(parts.clock ? { clock: parts.clock } : {}),
      logger: this.log,
    });
    this.jobs = new Jobs(this.kernel);
    this.webhooks = new Webhooks(this, now);
    this.deps = {
      now,
      tenants: this.tenants,
      models: this.models,
      tools: this.tools,
      memory: this.memory,
      channels: this.webhooks.tap(this.channels),
      blobs: this.blobs,
      services: {
        jobs: this.jobs,
        embedder: embedderOf(this.models),
        net: this.config.net,
        connections: lazyPort(() => services.connectionsPort),
      },
      secrets: { reader: (s) => this.vault.reader(s), values: (s) => this.vault.values(s) },
      historyWindow: this.config.historyWindow,
      compactAfter: this.config.compactAfter,
      approvalTimeout: this.config.approvalTimeout,
      links: { base: this.config.channels.publicUrl ?? `http://${this.config.host}:${this.config.port}` },
      connectTimeout: this.config.connections.linkTtl,
      modelRetry: this.config.modelRetry,
      speech: new Speaker({ config: this.config.media, blobs: this.blobs }),
    };
    const lazyTurn = lazyTurnWorkflow(() =>
      load<typeof import("./agent/turn.ts")>("./agent/turn.ts").turnWorkflow(this.deps),
    );
    this.#loadTurn = lazyTurn.load;
    const turn = lazyTurn.workflow;
    this.inbox = new Inbox(this.db, this.tenants, this.kernel, turn, now);
    const flows = jobWorkflows({ tenants: this.tenants, inbox: this.inbox, memory: this.memory, db: this.db, now });
    for (const w of [turn, flows.reminder, flows.recurring, flows.heartbeat])
      this.kernel.registry.add(w as Workflow<never, unknown>);

    this.channelHost = channelHostOf({
      config: this.config,
      kernel: this.kernel,
      inbox: this.inbox,
      tenants: this.tenants,
      blobs: this.blobs,
      health: this.health,
      adapters: this.channels,
      db: this.db,
      vault: this.vault,
      memory: this.memory,
      now,
    });
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
   * process that starts them once its API listens, a test that drives channels by hand. `warm:
   * false` leaves loading the tools and the turn's code (`warm`) to the caller or their first use.
   */
  async start(opts: { channels?: boolean; warm?: boolean } = {}): Promise<this> {
    if (opts.warm ?? true) this.warm();
    if (this.executesRuns) {
      this.kernel.startWorker();
      await this.inbox.recover();
    }
    if (opts.channels ?? true) this.startChannels();
    return this;
  }

  /**
   * Loads now what the first turn and the first request would (the built-in tools, the turn's code),
   * so they do not wait for it; `agentd start` calls it once its ready line is out. These modules are
   * required synchronously, which Node refuses while an import() of one of them is in flight
   * (ERR_REQUIRE_ESM_RACE_CONDITION): whatever imports agentd's own modules lazily (the API, the
   * dashboard, the MCP server) calls this first. Idempotent.
   */
  warm(): void {
    this.#services.warm();
    this.tools.names();
    this.#loadTurn();
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
    await this.#services.close();
    await this.store.close();
    await this.tenants.close();
    await this.db.close();
  }
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
    ? await (await import("@agentd/kernel/postgres")).openPostgresStore({
        url: config.databaseUrl,
        ...(config.pgSchema ? { schema: config.pgSchema } : {}),
      })
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
    mcp: opts.mcp,
    worker: opts.worker,
    api: opts.api,
    clock: opts.clock,
    logger: opts.logger,
    channelLog: opts.channelLog,
    channelModules,
  });
}
