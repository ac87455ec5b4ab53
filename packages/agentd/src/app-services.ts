import { type Kernel, type Logger, toMs } from "@agentd/kernel";
import { createRequire } from "node:module";
import type { AgentdOptions } from "./app-options.ts";
import type { BlobStore } from "./blobs/types.ts";
import type { ComposioService } from "./composio/service.ts";
import type { Config } from "./config.ts";
import type { ConnectionsPort } from "./connections/port.ts";
import type { Connections } from "./connections/service.ts";
import type { Db } from "./db/index.ts";
import type { McpPool } from "./mcp/pool.ts";
import type { McpServers } from "./mcp/servers.ts";
import type { McpSource } from "./mcp/source.ts";
import type { SandboxHost } from "./sandbox/host.ts";
import type { SshService } from "./ssh/service.ts";
import type { TenantScope } from "./tenancy/scope.ts";
import type { BrowserManager } from "./tools/browser/index.ts";
import type { ToolSource } from "./tools/sources/port.ts";
import type { Vault } from "./vault/vault.ts";

/**
 * Loads one of agentd's modules synchronously, on first use: the built-in tools, the turn's code and
 * the services below (some 100 modules) load when a turn or a request first needs them, or right
 * after `agentd start`'s ready line (Agentd.warm), not before it.
 */
export const load = <M>(path: string): M => createRequire(import.meta.url)(path) as M;

export interface ServicesDeps {
  config: Config;
  db: Db;
  vault: Vault;
  blobs: BlobStore;
  now: () => number;
  log: Logger;
  scope: (tenantId: string) => TenantScope;
  kernel: () => Kernel;
  mcp: AgentdOptions["mcp"];
}

/**
 * The services agentd builds on first use (their modules with them): SSH, the sandbox, the browser,
 * tenants' MCP servers, OAuth connections, Composio. Each is built once, by the first read of its getter.
 */
export class Services {
  readonly #d: ServicesDeps;
  #ssh?: SshService;
  #sandbox?: SandboxHost | null;
  #browser?: BrowserManager | null;
  #mcp?: { servers: McpServers; pool: McpPool; source: McpSource };
  #composio?: ComposioService;
  #connections?: Connections;
  #port?: ConnectionsPort;

  constructor(d: ServicesDeps) {
    this.#d = d;
  }

  get ssh(): SshService {
    const { config, vault, now } = this.#d;
    this.#ssh ??= new (load<typeof import("./ssh/service.ts")>("./ssh/service.ts").SshService)({
      vault,
      net: config.net,
      now,
    });
    return this.#ssh;
  }

  get sandbox(): SandboxHost | null {
    const { config } = this.#d;
    if (this.#sandbox === undefined)
      this.#sandbox = config.sandbox.enabled
        ? new (load<typeof import("./sandbox/host.ts")>("./sandbox/host.ts").SandboxHost)(
            config.sandbox,
            config.dataDir,
            config.net,
          )
        : null;
    return this.#sandbox;
  }

  get browser(): BrowserManager | null {
    const { config, vault, scope } = this.#d;
    if (this.#browser === undefined)
      this.#browser = load<typeof import("./tools/browser/of-config.ts")>("./tools/browser/of-config.ts").browserOf(
        config,
        vault,
        scope,
      );
    return this.#browser;
  }

  get mcp(): { servers: McpServers; pool: McpPool; source: McpSource } {
    if (this.#mcp) return this.#mcp;
    const { config, vault, blobs, now, log } = this.#d;
    const servers = new (load<typeof import("./mcp/servers.ts")>("./mcp/servers.ts").McpServers)({
      operator: config.mcp.servers,
      net: config.net,
      now,
    });
    const { noSandbox, sandboxSpawner } = load<typeof import("./mcp/transport/sandbox-spawner.ts")>(
      "./mcp/transport/sandbox-spawner.ts",
    );
    const sandbox = this.sandbox;
    const pool = new (load<typeof import("./mcp/pool.ts")>("./mcp/pool.ts").McpPool)({
      net: config.net,
      spawner: this.#d.mcp?.spawner ?? (sandbox ? sandboxSpawner(() => sandbox.get()) : noSandbox),
      // MCP servers' OAuth goes through the connections' callback and vault, unless a program brings its own.
      auth: this.#d.mcp?.auth ?? (({ tenant, server, fetch }) => this.connections.mcpProvider(tenant, server, fetch)),
      idleMs: config.mcp.idleMs,
      maxPerTenant: config.mcp.maxPerTenant,
      now,
      log,
    });
    const source = new (load<typeof import("./mcp/source.ts")>("./mcp/source.ts").McpSource)({
      servers,
      pool,
      secrets: (s) => vault.reader(s),
      blobs: { put: (t, data, meta) => blobs.put(t, data, meta), maxBytes: config.maxMediaBytes },
      log,
    });
    this.#mcp = { servers, pool, source };
    return this.#mcp;
  }

  /** What connect links need, OAuth apps' and Composio's alike: where to record them, the callback's base, the run's wake-up. */
  #links() {
    const { config, db, vault, now, scope } = this.#d;
    return {
      db,
      vault,
      now,
      scope,
      publicUrl: config.connections.publicUrl ?? config.channels.publicUrl,
      events: this.#d.kernel(),
      linkTtlMs: toMs(config.connections.linkTtl),
    };
  }

  get composio(): ComposioService {
    this.#composio ??= new (load<typeof import("./composio/service.ts")>("./composio/service.ts").ComposioService)({
      ...this.#links(),
      config: this.#d.config.composio,
    });
    return this.#composio;
  }

  get connections(): Connections {
    const { config } = this.#d;
    this.#connections ??= new (load<typeof import("./connections/service.ts")>("./connections/service.ts").Connections)(
      {
        ...this.#links(),
        net: config.net,
        apps: config.connections.apps,
        mcpServer: async (scope, name) => {
          const s = await this.mcp.servers.get(scope, name);
          return s?.transport === "http" ? { name: s.name, url: s.url, oauth: s.oauth } : null;
        },
      },
    );
    return this.#connections;
  }

  /** The connections the agent's chain uses: OAuth apps' and Composio's accounts (`composio:<toolkit>`). */
  get connectionsPort(): ConnectionsPort {
    this.#port ??= load<typeof import("./composio/service.ts")>("./composio/service.ts").withComposio(
      this.connections,
      this.composio.accounts,
    );
    return this.#port;
  }

  /** A source of tools whose service is built on its first listing or call. */
  source(id: string, of: () => ToolSource): ToolSource {
    return {
      id,
      // Read at a turn's start, where the listing was: the service is built then, as it was by the listing.
      get prefetch() {
        return of().prefetch;
      },
      list: (tenant, signal, prefetched) => of().list(tenant, signal, prefetched),
      call: (...a) => of().call(...a),
    };
  }

  /** Loads every service now (Agentd.warm). */
  warm(): void {
    void [this.ssh, this.sandbox, this.browser, this.mcp, this.composio, this.connections, this.connectionsPort];
  }

  /** Closes what was built. */
  async close(): Promise<void> {
    await this.#browser?.close();
    this.#ssh?.close();
    await this.#mcp?.pool.close();
  }
}

/** A `ConnectionsPort` over one built on its first call. */
export function lazyPort(of: () => ConnectionsPort): ConnectionsPort {
  return {
    prepare: (scope, name) => of().prepare(scope, name),
    begin: (scope, p) => of().begin(scope, p),
    bearer: (scope, name) => of().bearer(scope, name),
    list: (scope) => of().list(scope),
    test: (scope, name) => of().test(scope, name),
    remove: (scope, name) => of().remove(scope, name),
  };
}
