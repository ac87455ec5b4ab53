import type { Tool } from "./types.ts";

/** The tools agentd offers; later tools (browser, SSH, MCP) plug in here. */
export class ToolRegistry {
  readonly #tools = new Map<string, Tool>();

  register(...tools: Tool[]): this {
    for (const t of tools) {
      if (!/^[a-zA-Z0-9_]{1,64}$/.test(t.name)) throw new Error(`tool name ${JSON.stringify(t.name)} must be 1-64 letters, digits or underscores`);
      if (this.#tools.has(t.name)) throw new Error(`tool ${t.name} is registered twice`);
      this.#tools.set(t.name, t);
    }
    return this;
  }

  get(name: string): Tool | undefined {
    return this.#tools.get(name);
  }

  /** Every tool's name. */
  names(): string[] {
    return [...this.#tools.keys()];
  }

  /** The tools a tenant may use: all, or those its settings list. */
  list(allowed: readonly string[] | null = null): Tool[] {
    const all = [...this.#tools.values()];
    return allowed ? all.filter((t) => allowed.includes(t.name)) : all;
  }
}
