import { AgentdError, badRequest } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { ComposioAccess } from "./access.ts";
import { callOptions, composioFailed } from "./client.ts";
import { TOOLKIT } from "./config.ts";

/** Bounds on what find_tools shows the model: a toolkit has hundreds of tools; a page of them is enough to pick from. */
export const FIND_LIMITS = { tools: 20, schemaChars: 3_000, descriptionChars: 300, totalChars: 24_000 };
const SLUG = /^[A-Z0-9_]{1,128}$/;

/** The result of one execution, as the model reads it (fenced as untrusted by the chain). */
export interface Executed {
  successful: boolean;
  data: unknown;
  error: string | null;
  /** The toolkit version it ran at. */
  version: string;
}

/**
 * A toolkit's tools through the tenant's Composio: searched (the model asks for a toolkit's tools
 * when it needs them, so no prompt carries 900 schemas) and executed as the tenant's user at a
 * pinned toolkit version: the operator's pin, else the version the tool itself reports, never "latest".
 */
export class ComposioTools {
  readonly #access: ComposioAccess;
  readonly #versions: Record<string, string>;

  constructor(o: { access: ComposioAccess; versions: Record<string, string> }) {
    this.#access = o.access;
    this.#versions = o.versions;
  }

  /** Up to FIND_LIMITS.tools of a toolkit's tools (matching `search` when given), as text for the model. */
  async find(scope: TenantScope, toolkit: string, search: string | undefined, signal?: AbortSignal): Promise<string> {
    if (!TOOLKIT.test(toolkit))
      throw badRequest(`"${toolkit.slice(0, 64)}" is not a toolkit slug (lowercase, like github)`);
    const c = await this.#access.for(scope);
    let tools: Awaited<ReturnType<typeof c.sdk.tools.getRawComposioTools>>;
    try {
      tools = await c.sdk.tools.getRawComposioTools(
        { toolkits: [toolkit], limit: FIND_LIMITS.tools, ...(search ? { search: search.slice(0, 200) } : {}) },
        undefined,
        callOptions(signal),
      );
    } catch (e) {
      throw composioFailed(e, c.key);
    }
    if (tools.length === 0)
      return `no tools of toolkit "${toolkit}"${search ? ` match "${search.slice(0, 200)}"` : ""}: check the toolkit's slug, or search with other words`;
    const lines: string[] = [];
    let size = 0;
    for (const t of tools.slice(0, FIND_LIMITS.tools)) {
      let schema = JSON.stringify(t.inputParameters ?? { type: "object" });
      if (schema.length > FIND_LIMITS.schemaChars)
        schema = `(its schema is ${schema.length} characters: search for this tool alone to read it)`;
      const line = `${t.slug}: ${(t.description ?? t.name).slice(0, FIND_LIMITS.descriptionChars)}\n  arguments: ${schema}`;
      if (size + line.length > FIND_LIMITS.totalChars) break;
      lines.push(line);
      size += line.length;
    }
    return `${lines.length} tool(s) of ${toolkit}; run one with composio__composio__execute (toolkit, tool, arguments):\n${lines.join("\n")}`;
  }

  async execute(
    scope: TenantScope,
    call: { toolkit: string; tool: string; arguments: Record<string, unknown> },
    signal?: AbortSignal,
  ): Promise<Executed> {
    if (!TOOLKIT.test(call.toolkit)) throw badRequest(`"${call.toolkit.slice(0, 64)}" is not a toolkit slug`);
    if (!SLUG.test(call.tool))
      throw badRequest(`"${call.tool.slice(0, 128)}" is not a tool slug (upper case, like GITHUB_GET_A_REPOSITORY)`);
    const c = await this.#access.for(scope);
    try {
      const tool = await c.sdk.tools.getRawComposioToolBySlug(call.tool, undefined, callOptions(signal));
      // The connection the chain checked is the toolkit's named in the call: a tool of another toolkit would use an account nobody asked for.
      if (tool.toolkit?.slug !== call.toolkit)
        throw badRequest(
          `${call.tool} belongs to toolkit ${tool.toolkit?.slug ?? "unknown"}, not ${call.toolkit}: call it with that toolkit`,
        );
      const version = this.#versions[call.toolkit] ?? tool.version;
      if (!version || version === "latest")
        throw new AgentdError(
          "not_configured",
          `Composio gave no version for ${call.tool}: the operator pins ${call.toolkit} in AGENTD_COMPOSIO_TOOLKIT_VERSIONS`,
        );
      const res = await c.sdk.tools.execute(
        call.tool,
        { userId: c.userId, version, arguments: call.arguments },
        callOptions(signal),
      );
      return { successful: res.successful, data: res.data, error: res.error, version };
    } catch (e) {
      throw composioFailed(e, c.key);
    }
  }
}
