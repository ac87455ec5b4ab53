import type { TenantScope } from "../../tenancy/scope.ts";
import type { ToolGroup } from "../groups.ts";
import type { Decision, Risk, ToolContext } from "../types.ts";

/**
 * A tenant's own tools, from outside agentd: its MCP servers, its connected apps. The registry asks
 * every source for the tenant's tools once per turn, at the turn's start (inside its first step, so
 * a replay sees the same tools), and calls through the source when the model uses one. What a
 * source lists is bounded before anyone reads it (see `SOURCE_LIMITS`): it comes from outside.
 */
export interface ToolSource {
  /** Starts the names of its tools (`<id>__<server>__<tool>`): 1-16 of a-z 0-9, a letter first ("mcp", "app"). */
  readonly id: string;
  /**
   * The tenant's tools from this source now. A source that fails or is slow costs its tools for this turn, never the turn.
   * `prefetched`: the value of `prefetch`, when the turn's view read it (Postgres); undefined: read it yourself.
   */
  list(tenant: TenantScope, signal: AbortSignal, prefetched?: unknown): Promise<readonly SourceTool[]>;
  /**
   * What `list` reads of the store first, as one SQL expression scoped by `$tenant` (no parameters), which the
   * turn's view evaluates in its own statement on Postgres: a tenant with no server costs no round trip.
   */
  readonly prefetch?: string;
  /**
   * Runs one call. `tool` is what `list` said (server and the tool's own name), `args` passed the
   * schema the turn recorded. The result goes through the same redaction, cut and untrusted fence
   * as every tool's; a thrown error becomes an answer for the model.
   */
  call(tenant: TenantScope, tool: { server: string; name: string }, args: unknown, ctx: ToolContext): Promise<unknown>;
}

/** One tool as a source lists it. */
export interface SourceTool {
  /** The server or app it belongs to, as the tenant named it ("github", "my files"). */
  server: string;
  /** Its own name there (any characters: the model sees a cleaned, length-limited name). */
  name: string;
  description: string;
  /** The JSON Schema of its arguments (an object schema), as the server publishes it. */
  inputSchema: Record<string, unknown>;
  /** Default "medium": it acts outside agentd. */
  risk?: Risk;
  /** Default "ask": nobody vetted what it does, so a person approves until a policy rule says otherwise. */
  defaultDecision?: Decision;
  /** An OAuth connection the chain makes sure is authorized before a call (`mcp:<server>`: a server waiting for the person). */
  connection?: string;
  /** With `connection`: the argument whose value ends the connection's name (`composio:` + the call's `toolkit`). */
  connectionArg?: string;
  /** After a call of it, the turn lists the tenant's tools again: an MCP server just authorized offers its own to the same turn. */
  relists?: boolean;
  /**
   * True for a tool that may run again by itself when its worker died mid-call (it only reads: a
   * second call changes nothing outside). Default: a person is asked first ("RUN AGAIN?"), as for
   * an ssh command, since the first call's effect is unknown and nobody vetted what it does.
   */
  rerun?: boolean;
  /** Offered once the model loads this group (groups.ts), like a built-in of it; none: with every call. */
  group?: ToolGroup;
  /**
   * Arguments whose values start the subject policy rules match and approvals show (`github
   * GITHUB_STAR_…` then the other arguments as JSON); an "Always" answer then allows those values only.
   */
  subjectArgs?: string[];
}

/** What a turn records of each tool from outside: enough to show it to the model and call it again on replay. */
export interface SourcedTool {
  /** The model-facing name (see names.ts). */
  name: string;
  source: string;
  server: string;
  /** The tool's own name at its server. */
  tool: string;
  description: string;
  inputSchema: Record<string, unknown>;
  risk: Risk;
  defaultDecision: Decision;
  connection?: string;
  connectionArg?: string;
  /** After a call of it, the turn lists the tenant's tools again: an MCP server just authorized offers its own to the same turn. */
  relists?: boolean;
  /** Runs again by itself after its worker died mid-call (`SourceTool.rerun`); absent (as in turns recorded before it): a person is asked. */
  rerun?: true;
  /** Offered once the model loads this group (groups.ts), like a built-in of it; none: with every call. */
  group?: ToolGroup;
  subjectArgs?: string[];
}

/** Bounds on what sources list: descriptions and schemas are sent with every model call. */
export const SOURCE_LIMITS = {
  /** How long listing one source's tools may take before the turn goes on without them. */
  listMs: 10_000,
  /** Descriptions longer than this are cut. */
  descriptionChars: 1_000,
  /** A tool whose schema is larger (as JSON) is left out. */
  schemaChars: 16_000,
  /** Tools offered to the model in all: OpenAI refuses more than 128 in one request. */
  totalTools: 128,
};
