import { z } from "zod";
import { TOOL_GROUPS, type ToolGroup } from "../groups.ts";
import type { OfferedTool, Tool } from "../types.ts";

/** The built-in that loads groups: its calls change what the turn offers next (agent/turn.ts). */
export const LOAD_TOOLS = "load_tools";

/** Tools of one group (a line of builtins.ts). */
export function grouped(group: ToolGroup, tools: readonly Tool[]): Tool[] {
  return tools.map((t) => ({ ...t, group }));
}

/**
 * `load_tools` for one turn, naming only the groups this tenant has tools in and has not loaded from
 * the start. The turn reads the groups from the call itself (groupsOf), not from the step's result,
 * so a replayed turn offers what it offered.
 */
export function loadToolsTool(available: readonly ToolGroup[], members: (g: ToolGroup) => string[]): OfferedTool {
  const { input, description } = shapeOf(available);
  return {
    name: LOAD_TOOLS,
    description,
    input,
    risk: "low",
    defaultDecision: "allow",
    run: async (args) => {
      const { groups } = input.parse(args);
      return `Loaded; you can call them now.\n${groups.map((g) => `${g}: ${members(g).join(", ")}`).join("\n")}`;
    },
  };
}

/**
 * The schema and description for one set of groups, made once: a schema made anew each turn was
 * converted to JSON Schema anew each turn (call-model.ts keeps each schema's conversion). At most one
 * entry per subset of TOOL_GROUPS (16).
 */
const shapes = new Map<string, { input: z.ZodType<{ groups: ToolGroup[] }>; description: string }>();
function shapeOf(available: readonly ToolGroup[]) {
  const key = available.join(",");
  let s = shapes.get(key);
  if (!s) {
    s = {
      input: z.object({ groups: z.array(z.enum(available as [ToolGroup, ...ToolGroup[]])).min(1) }),
      description: `Load more tools when a task needs them: ${available.map((g) => `${g} (${TOOL_GROUPS[g]})`).join("; ")}.`,
    };
    shapes.set(key, s);
  }
  return s;
}

/** The groups a `load_tools` call asked for, among those the turn offers to load. */
export function groupsOf(input: unknown, available: readonly ToolGroup[]): ToolGroup[] {
  const groups = (input as { groups?: unknown } | null)?.groups;
  return Array.isArray(groups) ? available.filter((g) => groups.includes(g)) : [];
}
