import type { CallToolResult, Progress, Tool } from "@modelcontextprotocol/client";
import type { Logger } from "@agentd/kernel";
import type { TenantScope } from "../tenancy/scope.ts";
import type { SecretReader } from "../vault/reader.ts";
import type { ConnectDeps, Connection } from "./connect.ts";
import type { McpServer } from "./definition.ts";
import { McpError } from "./errors.ts";

export interface PoolOptions extends ConnectDeps {
  /** A connection unused this long is closed by the next sweep. */
  idleMs: number;
  /** Connections one tenant may hold at once; beyond, its least recently used idle one is closed. */
  maxPerTenant: number;
  now?: () => number;
  /** How often the pool sweeps idle connections by itself; 0: only when `sweep()` is called (tests, with their clock). */
  sweepEveryMs?: number;
  log?: Logger;
}

/** The first wait after a server fails to connect; it doubles with each failure in a row, up to `BACKOFF_MAX_MS`. */
export const BACKOFF_BASE_MS = 5_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

/** A server that failed to connect: not tried again before `until`. */
interface Down {
  /** The definition that failed: another (a fixed URL) is tried at once. */
  fingerprint: string;
  failures: number;
  until: number;
  reason: string;
}

interface Entry {
  tenantId: string;
  server: string;
  /** The definition it was opened with: a changed definition opens a new connection. */
  fingerprint: string;
  conn: Promise<Connection>;
  /** The server's tools, cached until it says they changed. */
  tools: Tool[] | null;
  lastUsed: number;
  busy: number;
  closed: boolean;
}

/**
 * Open MCP sessions, one per (tenant, server) in this process: opened on first use, reused while
 * used, closed after `idleMs` unused, at most `maxPerTenant` per tenant, and always closed (a stdio
 * server's process tree killed) on `close`. A connection that drops is forgotten, and the next use
 * opens another.
 */
export class McpPool {
  readonly #opts: PoolOptions;
  readonly #entries = new Map<string, Entry>();
  /** Servers that are down, by (tenant, server): every turn lists every server, and a dead one must not cost each a connect. */
  readonly #down = new Map<string, Down>();
  readonly #now: () => number;
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(opts: PoolOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    const every = opts.sweepEveryMs ?? Math.min(opts.idleMs, 30_000);
    if (every > 0) {
      this.#timer = setInterval(() => void this.sweep(), every);
      this.#timer.unref();
    }
  }

  /** The server's tools: listed once per connection, listed again when it says they changed. */
  async tools(tenant: TenantScope, server: McpServer, secrets: SecretReader): Promise<Tool[]> {
    return this.#use(tenant, server, secrets, async (conn, entry) => {
      if (entry.tools) return entry.tools;
      const { tools } = await conn.client.listTools();
      entry.tools = tools;
      return tools;
    });
  }

  /** Calls one tool; the signal cancels the request (the SDK tells the server). */
  async call(
    tenant: TenantScope,
    server: McpServer,
    secrets: SecretReader,
    name: string,
    args: Record<string, unknown>,
    opts: { signal?: AbortSignal; timeoutMs?: number; onprogress?: (p: Progress) => void } = {},
  ): Promise<CallToolResult> {
    return this.#use(tenant, server, secrets, (conn) =>
      conn.client.callTool(
        { name, arguments: args },
        {
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.onprogress ? { onprogress: opts.onprogress, resetTimeoutOnProgress: true } : {}),
          timeout: opts.timeoutMs ?? 120_000,
        },
      ),
    );
  }

  /** Closes the connections unused for `idleMs` or longer; resolves when they are closed. */
  async sweep(): Promise<number> {
    const cutoff = this.#now() - this.#opts.idleMs;
    const idle = [...this.#entries.values()].filter((e) => e.busy === 0 && e.lastUsed <= cutoff);
    await Promise.all(idle.map((e) => this.#close(e)));
    return idle.length;
  }

  /** Closes a tenant's connection to one server (after it was removed or changed), or all of a tenant's; a changed server is tried at once. */
  async closeFor(tenantId: string, server?: string): Promise<void> {
    for (const k of this.#down.keys()) {
      const [t, s] = JSON.parse(k) as [string, string];
      if (t === tenantId && (server === undefined || s === server)) this.#down.delete(k);
    }
    const mine = [...this.#entries.values()].filter(
      (e) => e.tenantId === tenantId && (server === undefined || e.server === server),
    );
    await Promise.all(mine.map((e) => this.#close(e)));
  }

  /** Open connections per tenant, now. */
  stats(): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of this.#entries.values()) out.set(e.tenantId, (out.get(e.tenantId) ?? 0) + 1);
    return out;
  }

  /** Closes everything; nothing opens after. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.all([...this.#entries.values()].map((e) => this.#close(e)));
  }

  async #use<T>(
    tenant: TenantScope,
    server: McpServer,
    secrets: SecretReader,
    fn: (conn: Connection, entry: Entry) => Promise<T>,
  ): Promise<T> {
    const entry = await this.#entry(tenant, server, secrets);
    entry.busy++;
    try {
      return await fn(await entry.conn, entry);
    } finally {
      entry.busy--;
      entry.lastUsed = this.#now();
    }
  }

  async #entry(tenant: TenantScope, server: McpServer, secrets: SecretReader): Promise<Entry> {
    if (this.#closed)
      throw new McpError("unavailable", "agentd is shutting down: MCP servers are not reached any more");
    const key = JSON.stringify([tenant.tenantId, server.name]);
    const fingerprint = JSON.stringify(server);
    const found = this.#entries.get(key);
    if (found && found.fingerprint === fingerprint) {
      found.lastUsed = this.#now();
      return found;
    }
    if (found) await this.#close(found);
    const down = this.#down.get(key);
    if (down && down.fingerprint === fingerprint && this.#now() < down.until)
      throw new McpError(
        "unavailable",
        `the MCP server "${server.name}" is not answering (${down.reason}); agentd tries it again in ${Math.ceil((down.until - this.#now()) / 1000)} s: tell the person rather than calling it again now`,
      );
    await this.#makeRoom(tenant.tenantId);
    const entry: Entry = {
      tenantId: tenant.tenantId,
      server: server.name,
      fingerprint,
      tools: null,
      lastUsed: this.#now(),
      busy: 0,
      closed: false,
      conn: Promise.resolve(null as unknown as Connection),
    };
    // The MCP SDK is loaded on the first connection, not with agentd: it costs every command's start otherwise.
    entry.conn = import("./connect.ts")
      .then(({ connect }) =>
        connect(tenant, server, secrets, this.#opts, (tools) => {
          // A failed refresh drops the cache: the next turn lists again.
          entry.tools = tools;
        }),
      )
      .then(
        (conn) => {
          this.#down.delete(key);
          // The server went away (its process exited, the session ended): the next use opens another.
          const before = conn.client.onclose;
          conn.client.onclose = () => {
            before?.();
            if (this.#entries.get(key) === entry) this.#entries.delete(key);
            entry.closed = true;
          };
          if (entry.closed) void conn.close();
          return conn;
        },
        (e) => {
          if (this.#entries.get(key) === entry) this.#entries.delete(key);
          entry.closed = true;
          // Unreachable or failing: wait longer after each failure in a row. Wanting an authorization is not being down.
          if (McpError.is(e) && e.code === "unavailable") {
            const before = this.#down.get(key);
            const failures = (before?.fingerprint === fingerprint ? before.failures : 0) + 1;
            const wait = Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
            this.#down.set(key, { fingerprint, failures, until: this.#now() + wait, reason: reasonOf(e) });
            if (this.#down.size > 10_000) this.#down.delete(this.#down.keys().next().value as string);
          }
          throw e;
        },
      );
    this.#entries.set(key, entry);
    return entry;
  }

  /** Below the tenant's bound: its least recently used idle connection closed if need be, or a clear refusal. */
  async #makeRoom(tenantId: string): Promise<void> {
    const mine = [...this.#entries.values()].filter((e) => e.tenantId === tenantId);
    if (mine.length < this.#opts.maxPerTenant) return;
    const idle = mine.filter((e) => e.busy === 0).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (!idle)
      throw new McpError(
        "limit",
        `this tenant already uses ${this.#opts.maxPerTenant} MCP servers at once (AGENTD_MCP_CONNECTIONS): try again when a call ends`,
      );
    await this.#close(idle);
  }

  async #close(e: Entry): Promise<void> {
    const key = JSON.stringify([e.tenantId, e.server]);
    if (this.#entries.get(key) === e) this.#entries.delete(key);
    e.closed = true;
    try {
      await (await e.conn).close();
    } catch (err) {
      // A connection that never opened has nothing to close; one that fails to close is logged.
      if (!McpError.is(err))
        this.#opts.log?.({
          level: "warn",
          msg: "an MCP connection failed to close",
          tenantId: e.tenantId,
          server: e.server,
          error: err instanceof Error ? err.name : typeof err,
        });
    }
  }
}

/** Why a connection failed, short: the SDK's message names the status or the network error, never a header. */
function reasonOf(e: McpError): string {
  const m = /: (.*)$/s.exec(e.message)?.[1] ?? e.message;
  return m.replace(/\s+/g, " ").slice(0, 160);
}
