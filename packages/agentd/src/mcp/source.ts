import type { Logger } from "@agentd/kernel";
import type { TenantScope } from "../tenancy/scope.ts";
import type { SourceTool, ToolSource } from "../tools/sources/port.ts";
import type { Attachment } from "../blobs/types.ts";
import type { ToolFiles } from "../tools/files.ts";
import type { ToolContext } from "../tools/types.ts";
import type { SecretReader } from "../vault/reader.ts";
import type { McpServer } from "./definition.ts";
import { McpError } from "./errors.ts";
import type { McpPool } from "./pool.ts";
import { type KeepImage, resultWithImages } from "./results.ts";
import { type McpServers, ROWS_JSON } from "./servers.ts";

/** The tenant's files, where images from tools are kept. */
export interface ImageBlobs {
  put(tenantId: string, data: Uint8Array, meta: { mime: string; name?: string; source?: string }): Promise<Attachment>;
  maxBytes: number;
}

/** The tool a server waiting for an authorization is offered as (agentd's name: no server's own tool clashes while it is the only one). */
const AUTHORIZE = "agentd_authorize";

const authorizeTool = (server: string): SourceTool => ({
  server,
  name: AUTHORIZE,
  description: `The MCP server "${server}" needs the person to authorize it: this sends them a link and waits; its tools are offered right after.`,
  inputSchema: { type: "object", properties: {}, additionalProperties: false },
  risk: "low",
  defaultDecision: "allow",
  connection: `mcp:${server}`,
  relists: true,
  // agentd's own: it only drops a connection, nothing outside.
  rerun: true,
});

/** Tools of one server offered at most: a server listing thousands costs its own, not the turn's. */
const MAX_TOOLS_PER_SERVER = 128;

/**
 * A tenant's MCP servers as a source of its tools (`mcp__<server>__<tool>`): each enabled server's
 * tools, listed through the pool (cached per connection, refreshed on list_changed), with their own
 * JSON Schema, asking a person first until the tenant's policy says otherwise. A server that fails
 * costs its own tools for the turn, not the other servers'.
 */
export class McpSource implements ToolSource {
  readonly id = "mcp";
  readonly #servers: McpServers;
  readonly #pool: McpPool;
  readonly #secrets: (scope: TenantScope) => SecretReader;
  readonly #log: Logger;
  readonly #blobs: ImageBlobs | null;

  constructor(opts: {
    servers: McpServers;
    pool: McpPool;
    secrets: (scope: TenantScope) => SecretReader;
    /** Where images a tool returns are kept (the tenant's files): without it they are notes. */
    blobs?: ImageBlobs;
    log?: Logger;
  }) {
    this.#blobs = opts.blobs ?? null;
    this.#servers = opts.servers;
    this.#pool = opts.pool;
    this.#secrets = opts.secrets;
    this.#log = opts.log ?? (() => {});
  }

  /** The tenant's own servers, read along the turn's view: a tenant with none costs no statement. */
  readonly prefetch = ROWS_JSON;

  async list(tenant: TenantScope, _signal: AbortSignal, prefetched?: unknown): Promise<SourceTool[]> {
    const servers = await this.#servers.enabled(tenant, prefetched);
    const lists = await Promise.all(
      servers.map(async (s) => {
        try {
          return await this.listServer(tenant, s);
        } catch (e) {
          // A server that needs the person's authorization offers one tool: the chain sends them the link and waits.
          if (McpError.is(e) && e.code === "unauthorized" && s.transport === "http") return [authorizeTool(s.name)];
          this.#log({
            level: "warn",
            msg: `the tools of MCP server "${s.name}" are left out of this turn: ${McpError.is(e) ? e.code : "its list failed"}`,
            tenantId: tenant.tenantId,
            error: e instanceof Error ? e.name : typeof e,
          });
          return [];
        }
      }),
    );
    return lists.flat();
  }

  /** One server's tools, as a source lists them (for `agentd mcp test` and the API's test too). */
  async listServer(tenant: TenantScope, server: McpServer): Promise<SourceTool[]> {
    const tools = await this.#pool.tools(tenant, server, this.#secrets(tenant));
    return tools.slice(0, MAX_TOOLS_PER_SERVER).map((t) => ({
      server: server.name,
      name: t.name,
      description: t.description ?? t.title ?? "",
      inputSchema: t.inputSchema as Record<string, unknown>,
      risk: "medium",
      defaultDecision: "ask",
      // A call cut by its worker's death runs again by itself only if the server says the tool only reads; otherwise a person is asked.
      ...(t.annotations?.readOnlyHint === true ? { rerun: true } : {}),
      // A call that needs a wider authorization (step-up) records a link: the chain's connect stage sends it before the next call.
      ...(server.transport === "http" ? { connection: `mcp:${server.name}` } : {}),
    }));
  }

  async call(
    tenant: TenantScope,
    tool: { server: string; name: string },
    args: unknown,
    ctx: ToolContext,
  ): Promise<string | ToolFiles> {
    const server = await this.#servers.get(tenant, tool.server);
    if (server && tool.name === AUTHORIZE) {
      // The chain's connect stage waited for the person; the connection that failed is dropped for the next turn.
      await this.#pool.closeFor(tenant.tenantId, server.name);
      return `the MCP server "${server.name}" is authorized: its tools are offered now`;
    }
    if (!server?.enabled)
      throw new McpError(
        "not_configured",
        `the MCP server "${tool.server}" is not among this tenant's enabled servers any more`,
      );
    const result = await this.#pool
      .call(tenant, server, this.#secrets(tenant), tool.name, (args ?? {}) as Record<string, unknown>, {
        signal: ctx.signal,
        // A long operation's progress reaches the run's stream (a person watching), never the model.
        onprogress: (p) => ctx.progress?.({ server: tool.server, tool: tool.name, ...p }),
      })
      .catch((e: unknown) => {
        // The server wants more than the token allows (403 insufficient_scope) or a new authorization: the SDK recorded the link.
        if ((e as { name?: string })?.name === "UnauthorizedError")
          throw new McpError(
            "unauthorized",
            `the MCP server "${server.name}" needs the person to authorize this (a wider access than they gave): call the tool again, and the person is sent the link first`,
            { cause: e },
          );
        throw e;
      });
    return resultWithImages(result, this.#keeper(tenant.tenantId, tool.server));
  }

  #keeper(tenantId: string, server: string): KeepImage {
    const blobs = this.#blobs;
    if (!blobs) return async () => null;
    return async (image) => {
      const bytes = Buffer.from(image.data, "base64");
      if (bytes.length === 0 || bytes.length > blobs.maxBytes) return null;
      return blobs.put(tenantId, bytes, { mime: image.mimeType, name: `${server}-image`, source: "mcp" });
    };
  }
}
