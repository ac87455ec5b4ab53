import type { TenantScope } from "../tenancy/scope.ts";
import type { SourceTool, ToolSource } from "../tools/sources/port.ts";
import type { ToolContext } from "../tools/types.ts";
import { type ComposioAccess, HAS_TENANT_KEY } from "./access.ts";
import { type ComposioAccounts, CONNECTION_PREFIX } from "./accounts.ts";
import type { ComposioTools } from "./tools.ts";

/** The one "server" of this source: its tools are named composio__composio__<tool>. */
const SERVER = "composio";
const toolkit = {
  type: "string",
  pattern: "^[a-z0-9_]{1,64}$",
  description: "the toolkit's slug: github, gmail, slack, …",
};

/**
 * What the model is offered when the tenant has Composio (in the "apps" group, loaded on demand):
 * four small tools, never a toolkit's hundreds of schemas. It finds a toolkit's tools first, then executes one; the chain's connect
 * stage makes sure the tenant's account of that toolkit is ACTIVE (sending a Connect Link and
 * waiting durably when not) before the call, and a person approves it unless a policy allows.
 */
export const COMPOSIO_TOOLS: readonly SourceTool[] = [
  {
    server: SERVER,
    name: "find_tools",
    description:
      "Lists the tools of a Composio toolkit (an app like github, gmail, slack) with their arguments; optional search words narrow them. Call it before execute.",
    inputSchema: {
      type: "object",
      properties: { toolkit, search: { type: "string", maxLength: 200, description: "words about the action" } },
      required: ["toolkit"],
      additionalProperties: false,
    },
    risk: "low",
    defaultDecision: "allow",
    rerun: true,
    group: "apps",
  },
  {
    server: SERVER,
    name: "execute",
    description:
      "Runs one Composio tool as the person's connected account (a link to connect is sent to them first when needed).",
    inputSchema: {
      type: "object",
      properties: {
        toolkit,
        tool: { type: "string", pattern: "^[A-Z0-9_]{1,128}$", description: "the tool's slug from find_tools" },
        arguments: { type: "object", description: "the tool's arguments, as find_tools showed them" },
      },
      required: ["toolkit", "tool", "arguments"],
      additionalProperties: false,
    },
    risk: "medium",
    defaultDecision: "ask",
    connection: CONNECTION_PREFIX,
    connectionArg: "toolkit",
    subjectArgs: ["toolkit", "tool"],
    // No `rerun`: an action (a star, an email sent) cut by its worker's death may have happened; a person decides.
    group: "apps",
  },
  {
    server: SERVER,
    name: "accounts",
    description: "Lists the person's accounts connected through Composio (toolkit, status, id).",
    inputSchema: { type: "object", properties: {}, additionalProperties: false },
    risk: "low",
    defaultDecision: "allow",
    rerun: true,
    group: "apps",
  },
  {
    server: SERVER,
    name: "disconnect",
    description:
      "Removes one of the person's Composio accounts by its id (from accounts); Composio revokes its tokens.",
    inputSchema: {
      type: "object",
      properties: { id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,100}$" } },
      required: ["id"],
      additionalProperties: false,
    },
    risk: "high",
    defaultDecision: "ask",
    // A delete: a second one of an account already removed changes nothing (it answers that it is gone).
    rerun: true,
    group: "apps",
  },
];

/** Composio as a source of a tenant's tools (`composio__composio__*`): offered when the tenant has a key (its own or the operator's). */
export class ComposioSource implements ToolSource {
  readonly id = "composio";
  readonly #access: ComposioAccess;
  readonly #accounts: ComposioAccounts;
  readonly #tools: ComposioTools;

  constructor(o: { access: ComposioAccess; accounts: ComposioAccounts; tools: ComposioTools }) {
    this.#access = o.access;
    this.#accounts = o.accounts;
    this.#tools = o.tools;
  }

  /** Whether the tenant stored its own key, read along the turn's view: no statement of its own. */
  readonly prefetch = HAS_TENANT_KEY;

  async list(tenant: TenantScope, _signal: AbortSignal, prefetched?: unknown): Promise<readonly SourceTool[]> {
    return (await this.#access.has(tenant, prefetched)) ? COMPOSIO_TOOLS : [];
  }

  async call(
    tenant: TenantScope,
    tool: { server: string; name: string },
    args: unknown,
    ctx: ToolContext,
  ): Promise<string> {
    const a = (args ?? {}) as Record<string, unknown>;
    switch (tool.name) {
      case "find_tools":
        return this.#tools.find(
          tenant,
          String(a.toolkit),
          typeof a.search === "string" ? a.search : undefined,
          ctx.signal,
        );
      case "execute": {
        const r = await this.#tools.execute(
          tenant,
          {
            toolkit: String(a.toolkit),
            tool: String(a.tool),
            arguments: (a.arguments ?? {}) as Record<string, unknown>,
          },
          ctx.signal,
        );
        return JSON.stringify(
          r.successful ? { successful: true, data: r.data } : { successful: false, error: r.error },
        );
      }
      case "accounts": {
        const list = await this.#accounts.list(tenant);
        return list.length
          ? list.map((x) => `${x.toolkit}: ${x.status} (id ${x.id}, since ${x.createdAt})`).join("\n")
          : "no accounts are connected through Composio yet";
      }
      case "disconnect": {
        const { removed } = await this.#accounts.remove(tenant, String(a.id));
        return `removed the ${removed.toolkit} account ${removed.id} from Composio`;
      }
      default:
        throw new Error(`Composio has no tool named ${tool.name.slice(0, 64)}`);
    }
  }
}
