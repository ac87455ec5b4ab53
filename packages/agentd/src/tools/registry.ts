import type { Logger } from "@agentd/kernel";
import { globMatch } from "../agent/glob.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { MAX_TOOL_NAME, MODEL_TOOL_NAME, nameTools, SOURCE_ID, type ToolRef } from "./sources/names.ts";
import { SOURCE_LIMITS, type SourceTool, type SourcedTool, type ToolSource } from "./sources/port.ts";
import { TOOL_GROUP_IDS, type ToolGroup } from "./groups.ts";
import { groupsOf, LOAD_TOOLS, loadToolsTool } from "./load-tools/index.ts";
import { sourcedTool } from "./sources/sourced-tool.ts";
import type { Decision, OfferedTool, Risk, Tool } from "./types.ts";

/** A built-in's name: what model APIs accept, without the "__" that tools from sources carry. */
const BUILTIN_NAME = /^[a-zA-Z0-9_]{1,64}$/;
const RISKS = new Set<Risk>(["low", "medium", "high"]);
const DECISIONS = new Set<Decision>(["allow", "ask", "deny"]);

/** What one tenant's settings allow a turn. */
export interface ToolAccess {
  /** Built-ins it may use (null: every one). */
  allow: readonly string[] | null;
  /** Tools it may not use, built-in or its own: names, or patterns with `*` ("mcp__github__*"). */
  deny: readonly string[];
  /** False: built-ins only, none from the tenant's sources (a background turn without autopilot). */
  sources: boolean;
}

/**
 * The tools one turn saw, as its first step records them: replayed, never resolved again, so a turn
 * retried tomorrow offers the model what it offered today. `tools`: built-ins by name (null, in
 * turns recorded before tools were resolved per tenant: every built-in); `sourced`: the tenant's own.
 */
export interface ResolvedTools {
  tools: string[] | null;
  sourced?: SourcedTool[];
  /** Groups offered from the start (groups.ts); absent in turns recorded before groups: every one. */
  groups?: ToolGroup[];
}

/** One turn's tools, ready to offer and to call. */
export interface TurnTools {
  /** What the next model call is offered: tools without a group, and those of the groups loaded. */
  list(): OfferedTool[];
  /** The tool behind a model-facing name, if this turn has it (offered, or in a group not loaded yet). */
  get(name: string): OfferedTool | undefined;
  /** Loads the groups a `load_tools` call named; true when that changes what is offered. */
  load(input: unknown): boolean;
  /** Whether a call of this tool makes the turn list the tenant's tools again (`SourceTool.relists`). */
  relists(name: string): boolean;
  /** Adds tools a later listing found (its own names kept); true when any is new. */
  add(sourced: readonly SourcedTool[]): boolean;
}

/**
 * The tools agentd offers: built-ins (tools/<name>/, listed in builtins.ts, and a program's own) and
 * sources of tenants' own tools (MCP servers, connected apps). `resolve` picks one tenant's, at the
 * start of its turn; `view` turns what a turn recorded into tools to offer and call.
 */
export class ToolRegistry {
  readonly #tools = new Map<string, Tool>();
  /** Tools not made yet (registerLater), in order: made, and checked against the others, on the first read. */
  readonly #later: (() => readonly Tool[])[] = [];
  readonly #sources = new Map<string, ToolSource>();
  readonly #log: Logger;
  readonly #limits: typeof SOURCE_LIMITS;

  constructor(opts: { log?: Logger; limits?: Partial<typeof SOURCE_LIMITS> } = {}) {
    this.#log = opts.log ?? (() => {});
    this.#limits = { ...SOURCE_LIMITS, ...opts.limits };
  }

  register(...tools: Tool[]): this {
    for (const t of tools) checkName(t.name);
    // Behind tools made later, so the order stays the order of registration (it is the order offered).
    if (this.#later.length > 0) this.#later.push(() => tools);
    else this.#add(tools);
    return this;
  }

  /**
   * Tools made on the registry's first read (a turn, a tenant's settings checked, a policy rule), not
   * now: `agentd start` registers the built-ins this way, so their modules (some 30) load after its
   * ready line rather than before. `make` loads them synchronously (a `require` of their module).
   */
  registerLater(make: () => readonly Tool[]): this {
    this.#later.push(make);
    return this;
  }

  /** The tools, every one registered made. */
  get #all(): Map<string, Tool> {
    // A maker that throws (a module that fails to load) stays, to throw again on the next read.
    for (let make = this.#later[0]; make; make = this.#later[0]) {
      const tools = make();
      for (const t of tools) checkName(t.name);
      this.#add(tools);
      this.#later.shift();
    }
    return this.#tools;
  }

  /** Adds all or, when a name is taken, none. */
  #add(tools: readonly Tool[]): void {
    const names = new Set<string>();
    for (const t of tools) {
      if (this.#tools.has(t.name) || names.has(t.name)) throw new Error(`tool ${t.name} is registered twice`);
      names.add(t.name);
    }
    for (const t of tools) this.#tools.set(t.name, t);
  }

  /** Adds a source of tenants' own tools; its id starts its tools' names, so it is unique. */
  addSource(...sources: ToolSource[]): this {
    for (const s of sources) {
      if (!SOURCE_ID.test(s.id))
        throw new Error(
          `tool source id ${JSON.stringify(s.id)} must be 1-16 of a-z 0-9, starting with a letter (it starts its tools' names)`,
        );
      if (this.#sources.has(s.id)) throw new Error(`tool source ${s.id} is added twice`);
      this.#sources.set(s.id, s);
    }
    return this;
  }

  /** A built-in by name. */
  get(name: string): Tool | undefined {
    return this.#all.get(name);
  }

  /**
   * Whether a policy rule may name this tool: a built-in, or a name one of the sources' tools can have
   * (`<source id>__…`, what a model API accepts). A tenant's own tools come and go with its servers,
   * so a rule for one may be set before or after the tool appears.
   */
  knows(name: string): boolean {
    if (this.#all.has(name)) return true;
    const source = name.split("__", 1)[0] as string;
    return name.startsWith(`${source}__`) && this.#sources.has(source) && MODEL_TOOL_NAME.test(name);
  }

  /** Whether a rule's prefix (`mcp__github__` of `mcp__github__*`) can cover a tool: a built-in's, or a source's. */
  knowsPrefix(prefix: string): boolean {
    if ([...this.#all.keys()].some((n) => n.startsWith(prefix))) return true;
    return prefix.length < MAX_TOOL_NAME && this.knows(`${prefix}x`);
  }

  /** Every built-in's name. */
  names(): string[] {
    return [...this.#all.keys()];
  }

  /** The built-ins a tenant may use: all, or those its settings list. */
  list(allowed: readonly string[] | null = null): Tool[] {
    const all = [...this.#all.values()];
    return allowed ? all.filter((t) => allowed.includes(t.name)) : all;
  }

  /**
   * One tenant's tools now: the built-ins its settings allow, then its own from every source, named
   * for the model (names.ts), less what it denies, at most `totalTools` in all. I/O: call it inside
   * a step, and offer the turn what that step recorded. `prefetched`: what the turn's view read for
   * the sources (`prefetches`), by source id.
   */
  async resolve(
    scope: TenantScope,
    access: ToolAccess,
    prefetched?: ReadonlyMap<string, unknown>,
  ): Promise<{ tools: string[]; sourced: SourcedTool[] }> {
    const denied = (name: string) => access.deny.some((d) => globMatch(d, name));
    const tools = this.list(access.allow)
      .map((t) => t.name)
      .filter((n) => !denied(n));
    if (!access.sources || this.#sources.size === 0) return { tools, sourced: [] };
    const byRef = new Map<string, Omit<SourcedTool, "name">>();
    const lists = await Promise.all(
      [...this.#sources.values()].map(async (s) => ({
        source: s.id,
        tools: await this.#listOne(scope, s, prefetched?.get(s.id)),
      })),
    );
    for (const { source, tools: listed } of lists)
      for (const t of listed) {
        const ok = this.#bounded(source, t);
        if (ok) byRef.set(refKey({ source, server: ok.server, tool: ok.tool }), ok);
      }
    const named = nameTools([...byRef.values()].map((t) => ({ source: t.source, server: t.server, tool: t.tool })));
    const room = Math.max(0, this.#limits.totalTools - tools.length);
    const sourced: SourcedTool[] = [];
    for (const [name, ref] of named) {
      if (denied(name)) continue;
      if (sourced.length === room) {
        this.#log({
          level: "warn",
          msg: `tools from sources beyond ${this.#limits.totalTools} in all are left out of this turn`,
          tenantId: scope.tenantId,
        });
        break;
      }
      sourced.push({ ...(byRef.get(refKey(ref)) as Omit<SourcedTool, "name">), name });
    }
    return { tools, sourced };
  }

  /** What the sources read first (`ToolSource.prefetch`), by source id: a turn's view reads them along (Postgres). */
  prefetches(): Map<string, string> {
    return new Map([...this.#sources.values()].flatMap((s) => (s.prefetch ? [[s.id, s.prefetch] as const] : [])));
  }

  /** What a turn recorded, as tools to offer and call. */
  view(resolved: ResolvedTools): TurnTools {
    const all = new Map<string, OfferedTool>();
    for (const t of this.list(resolved.tools)) all.set(t.name, t);
    const relisting = new Set<string>();
    const addOne = (t: SourcedTool) => {
      all.set(t.name, sourcedTool(t, this.#sources.get(t.source) ?? gone(t.source)));
      if (t.relists) relisting.add(t.name);
    };
    for (const t of resolved.sourced ?? []) addOne(t);
    const loaded = new Set<ToolGroup>(resolved.groups ?? TOOL_GROUP_IDS);
    const members = (g: ToolGroup) => [...all.values()].filter((t) => t.group === g).map((t) => t.name);
    const onDemand = TOOL_GROUP_IDS.filter((g) => !loaded.has(g) && members(g).length > 0);
    if (onDemand.length) all.set(LOAD_TOOLS, loadToolsTool(onDemand, members));
    return {
      list: () => [...all.values()].filter((t) => !t.group || loaded.has(t.group)),
      get: (name) => all.get(name),
      load: (input) => {
        const more = groupsOf(input, onDemand).filter((g) => !loaded.has(g));
        for (const g of more) loaded.add(g);
        return more.length > 0;
      },
      relists: (name) => relisting.has(name),
      add: (sourced) => {
        const fresh = sourced.filter((t) => !all.has(t.name)).slice(0, Math.max(0, this.#limits.totalTools - all.size));
        for (const t of fresh) addOne(t);
        return fresh.length > 0;
      },
    };
  }

  /** One source's list, bounded in time; a failing source costs its tools for this turn, not the turn. */
  async #listOne(scope: TenantScope, source: ToolSource, prefetched: unknown): Promise<readonly SourceTool[]> {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new Error(`listing took longer than ${this.#limits.listMs} ms`));
      }, this.#limits.listMs);
    });
    try {
      const listed = await Promise.race([source.list(scope, ac.signal, prefetched), late]);
      return Array.isArray(listed) ? listed : [];
    } catch (e) {
      // Only the error's kind: a source's message may carry a server's URL with its token.
      this.#log({
        level: "warn",
        msg: `the tools of source ${source.id} are left out of this turn: its list failed`,
        tenantId: scope.tenantId,
        error: e instanceof Error ? e.name : typeof e,
      });
      return [];
    } finally {
      clearTimeout(timer);
    }
  }

  /** A listed tool, checked and bounded (it comes from outside), or null to leave it out. */
  #bounded(source: string, t: SourceTool): Omit<SourcedTool, "name"> | null {
    if (typeof t !== "object" || t === null || typeof t.server !== "string" || typeof t.name !== "string") return null;
    if (t.server.length > 200 || t.name.length > 200) return null;
    const schema = t.inputSchema;
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return null;
    let json: string;
    try {
      json = JSON.stringify(schema);
    } catch {
      return null;
    }
    if (json.length > this.#limits.schemaChars) {
      this.#log({
        level: "warn",
        msg: `a tool of source ${source} is left out: its schema is over ${this.#limits.schemaChars} characters`,
        server: t.server.slice(0, 100),
        tool: t.name.slice(0, 100),
      });
      return null;
    }
    const description = typeof t.description === "string" ? t.description.slice(0, this.#limits.descriptionChars) : "";
    return {
      source,
      server: t.server,
      tool: t.name,
      description,
      inputSchema: JSON.parse(json) as Record<string, unknown>,
      risk: t.risk && RISKS.has(t.risk) ? t.risk : "medium",
      defaultDecision: t.defaultDecision && DECISIONS.has(t.defaultDecision) ? t.defaultDecision : "ask",
      ...(typeof t.connection === "string" && t.connection.length <= 200 ? { connection: t.connection } : {}),
      ...(typeof t.connection === "string" && typeof t.connectionArg === "string" && t.connectionArg.length <= 64
        ? { connectionArg: t.connectionArg }
        : {}),
      ...(t.relists === true ? { relists: true } : {}),
      ...(t.rerun === true ? { rerun: true as const } : {}),
      ...(TOOL_GROUP_IDS.includes(t.group as ToolGroup) ? { group: t.group } : {}),
      ...(Array.isArray(t.subjectArgs) && t.subjectArgs.length <= 4 && t.subjectArgs.every((a) => typeof a === "string")
        ? { subjectArgs: t.subjectArgs }
        : {}),
    };
  }
}

/** A built-in's name is one model APIs accept, never a source's (`__`) nor `load_tools`. */
function checkName(name: string): void {
  if (!BUILTIN_NAME.test(name))
    throw new Error(`tool name ${JSON.stringify(name)} must be 1-64 letters, digits or underscores`);
  if (name.includes("__"))
    throw new Error(
      `tool name ${JSON.stringify(name)} contains "__", which only tools from sources carry (mcp__server__tool); use single underscores`,
    );
  if (name === LOAD_TOOLS) throw new Error(`tool name ${LOAD_TOOLS} is agentd's own (it loads tool groups)`);
}

const refKey = (r: ToolRef) => JSON.stringify([r.source, r.server, r.tool]);

/** A turn recorded tools of a source this process no longer has: offered as before, each call says why it fails. */
function gone(id: string): ToolSource {
  return {
    id,
    list: async () => [],
    call: async () => {
      throw new Error(`the tool source "${id}" is not configured in this agentd any more`);
    },
  };
}
