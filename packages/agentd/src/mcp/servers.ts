import { badRequest, conflict, notFound } from "../errors.ts";
import { checkUrl, type Resolver } from "../net/guard.ts";
import type { NetPolicy } from "../net/policy.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { type McpServer, McpServerDef } from "./definition.ts";

/** A tenant's own servers at most: each is listed at the start of every turn. */
export const MAX_SERVERS_PER_TENANT = 20;

interface Row {
  name: string;
  transport: string;
  config: string;
  enabled: number | boolean;
  created_at: number | string;
}

const COLUMNS = "name, transport, config, enabled, created_at";

/** Postgres: the tenant's own servers as one JSON array of rows, an expression `list` takes the value of. */
export const ROWS_JSON = `(SELECT coalesce(json_agg(r ORDER BY r.name), '[]'::json) FROM (SELECT ${COLUMNS} FROM os_mcp_servers WHERE tenant_id = $tenant) r)`;

/**
 * The MCP servers each tenant has: its own (os_mcp_servers, through its scope) and the operator's
 * for every tenant (AGENTD_MCP_SERVERS). An HTTP server's URL passes the SSRF guard when it is
 * added, and again on every connection (the transport's fetch goes through the guard).
 */
export class McpServers {
  readonly #operator: readonly McpServerDef[];
  readonly #net: NetPolicy;
  readonly #now: () => number;
  readonly #resolve: Resolver | undefined;

  constructor(opts: { operator: readonly McpServerDef[]; net: NetPolicy; now: () => number; resolve?: Resolver }) {
    this.#operator = opts.operator;
    this.#net = opts.net;
    this.#now = opts.now;
    this.#resolve = opts.resolve;
  }

  /**
   * Every server of the tenant: the operator's first, then its own, by name. `rows`: the tenant's own
   * as `ROWS_JSON` read them along another statement (a turn's view), so none is read here.
   */
  async list(scope: TenantScope, rows?: unknown): Promise<McpServer[]> {
    const own = Array.isArray(rows)
      ? (rows as Row[])
      : await scope.all<Row>(`SELECT ${COLUMNS} FROM os_mcp_servers WHERE tenant_id = $tenant ORDER BY name`);
    return [
      ...this.#operator.map((d) => ({ ...d, origin: "operator" as const, createdAt: null })),
      ...own.map(toServer),
    ];
  }

  /** The enabled ones: what a turn lists tools from (`rows` as in `list`). */
  async enabled(scope: TenantScope, rows?: unknown): Promise<McpServer[]> {
    return (await this.list(scope, rows)).filter((s) => s.enabled);
  }

  async get(scope: TenantScope, name: string): Promise<McpServer | null> {
    return (await this.list(scope)).find((s) => s.name === name) ?? null;
  }

  /** Adds one of the tenant's own: checked (its URL by the guard), under a name no other server of the tenant has. */
  async add(scope: TenantScope, input: unknown): Promise<McpServer> {
    const parsed = McpServerDef.safeParse(input);
    if (!parsed.success)
      throw badRequest(
        `that MCP server definition is not valid: ${parsed.error.issues.map((i) => `${i.path.join(".") || "it"}: ${i.message}`).join("; ")}`,
      );
    const def = parsed.data;
    if (this.#operator.some((o) => o.name === def.name))
      throw conflict(`"${def.name}" is the name of a server the operator gives every tenant: choose another name`);
    if (def.transport === "http")
      await checkUrl(def.url, this.#net, { resolve: this.#resolve }).catch((e: unknown) => {
        // The guard's reason (a private address, a name that does not resolve) is the tenant's to read: it is its own URL.
        throw badRequest(`the MCP server's URL is refused: ${e instanceof Error ? e.message : String(e)}`);
      });
    const { name, transport, enabled, ...rest } = def;
    const now = this.#now();
    return scope.tx(async (tx) => {
      const count = await tx.get<{ n: number | string }>(
        "SELECT COUNT(*) AS n FROM os_mcp_servers WHERE tenant_id = $tenant",
      );
      if (Number(count?.n ?? 0) >= MAX_SERVERS_PER_TENANT)
        throw conflict(`a tenant has at most ${MAX_SERVERS_PER_TENANT} MCP servers: remove one first`);
      try {
        await tx.run(
          "INSERT INTO os_mcp_servers (tenant_id, name, transport, config, enabled, created_at, updated_at) VALUES ($tenant, ?, ?, ?, ?, ?, ?)",
          [name, transport, JSON.stringify(rest), enabled ? 1 : 0, now, now],
        );
      } catch (e) {
        if (/UNIQUE constraint failed|duplicate key value/i.test(String((e as Error)?.message)))
          throw conflict(
            `this tenant already has an MCP server named "${name}": remove it first, or choose another name`,
          );
        throw e;
      }
      return { ...def, origin: "tenant" as const, createdAt: now };
    });
  }

  /** Turns one of the tenant's own on or off (its tools leave the next turns, its connection is closed by the caller). */
  async setEnabled(scope: TenantScope, name: string, enabled: boolean): Promise<McpServer> {
    this.#notOperator(name, "changed");
    const r = await scope.run(
      "UPDATE os_mcp_servers SET enabled = ?, updated_at = ? WHERE tenant_id = $tenant AND name = ?",
      [enabled ? 1 : 0, this.#now(), name],
    );
    if (r.changes === 0) throw notFound(`MCP server "${name}"`);
    return (await this.get(scope, name)) as McpServer;
  }

  async remove(scope: TenantScope, name: string): Promise<void> {
    this.#notOperator(name, "removed");
    const r = await scope.run("DELETE FROM os_mcp_servers WHERE tenant_id = $tenant AND name = ?", [name]);
    if (r.changes === 0) throw notFound(`MCP server "${name}"`);
  }

  #notOperator(name: string, what: string): void {
    if (this.#operator.some((o) => o.name === name))
      throw conflict(
        `"${name}" is the operator's server for every tenant: it is ${what} in AGENTD_MCP_SERVERS, not here`,
      );
  }
}

function toServer(r: Row): McpServer {
  const def = McpServerDef.parse({
    name: r.name,
    transport: r.transport,
    enabled: r.enabled === true || Number(r.enabled) === 1,
    ...JSON.parse(r.config),
  });
  return { ...def, origin: "tenant", createdAt: Number(r.created_at) };
}
