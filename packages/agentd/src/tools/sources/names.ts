import { createHash } from "node:crypto";

/**
 * How tools from outside (a tenant's MCP servers, connected apps) are named for the model.
 *
 * A model API takes one flat namespace of function names, at most 64 characters of
 * [A-Za-z0-9_-] (OpenAI's rule, the strictest; Anthropic's and Gemini's accept what it accepts).
 * Tools from outside arrive as (source, server, tool) with any characters and any length, so each
 * becomes `<source>__<server>__<tool>`:
 * - built-in tools never contain "__" (the registry refuses it), so the two never collide;
 * - a character outside the set becomes "_", and runs of "_" become one, so the parts never contain
 *   the "__" that separates them;
 * - a name that changed on the way (a character replaced, an empty part) or that is longer than 64
 *   characters ends in "_" + 10 hex digits of a hash of the exact triple, cut to fit: two tools
 *   whose cleaned names agree still get different names, and the same tool always the same one.
 * The name depends only on the triple, so a tenant's policy rules and approvals, which name tools,
 * keep meaning the same tool from one turn to the next. The way back from a name to its tool is the
 * table `nameTools` returns (a turn journals it), never a parse of the name.
 */

/** What every model API accepts as a function name. */
export const MODEL_TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_TOOL_NAME = 64;
/** A source's id is the first part of its tools' names: short, lower-case, no "_" (the separator). */
export const SOURCE_ID = /^[a-z][a-z0-9]{0,15}$/;
const SEP = "__";
const HASH_CHARS = 10;

/** Where a tool from outside comes from: its source ("mcp", "app"), its server there, its own name. */
export interface ToolRef {
  source: string;
  server: string;
  tool: string;
}

/** One part of a name: the allowed characters kept, every other run of characters one "_". */
function clean(part: string): { text: string; exact: boolean } {
  const text = part
    .replace(/[^A-Za-z0-9_-]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_+|_+$/g, "");
  return text === "" ? { text: "x", exact: false } : { text, exact: text === part };
}

const hashOf = (ref: ToolRef) =>
  createHash("sha256")
    .update(JSON.stringify([ref.source, ref.server, ref.tool]))
    .digest("hex")
    .slice(0, HASH_CHARS);

/**
 * The model-facing name of one tool from outside; `hashed` forces the hash suffix (how `nameTools`
 * separates two tools whose plain names agree). Pure: the same triple always gives the same name.
 */
export function sourcedToolName(ref: ToolRef, hashed = false): string {
  if (!SOURCE_ID.test(ref.source))
    throw new TypeError(
      `a tool source's id must match ${SOURCE_ID} (it starts every name of its tools), got ${JSON.stringify(ref.source)}`,
    );
  const server = clean(ref.server);
  const tool = clean(ref.tool);
  const plain = `${ref.source}${SEP}${server.text}${SEP}${tool.text}`;
  if (!hashed && server.exact && tool.exact && plain.length <= MAX_TOOL_NAME) return plain;
  // A cut inside a separator would leave a "_" next to the hash's: drop it (never more: the parts are not empty).
  const head = plain.slice(0, MAX_TOOL_NAME - HASH_CHARS - 1).replace(/_+$/, "");
  return `${head}_${hashOf(ref)}`;
}

/**
 * Names a set of tools from outside: each gets `sourcedToolName`; when two get the same name (one
 * tool named "a-b_1f2e…", its plain name equal to another's hashed one, or the same triple listed
 * twice), every one of them takes its hashed name, and what still collides after that (the same
 * triple twice, or 40 bits of hash colliding) keeps its first holder in the order of the triples.
 * The result maps each model-facing name back to its tool, in name order.
 */
export function nameTools(refs: readonly ToolRef[]): Map<string, ToolRef> {
  const sorted = [...refs].sort(compareRefs);
  const plain = new Map<string, ToolRef[]>();
  for (const r of sorted) {
    const n = sourcedToolName(r);
    plain.set(n, [...(plain.get(n) ?? []), r]);
  }
  const out = new Map<string, ToolRef>();
  const taken = new Set<string>();
  // Unique plain names first, so that a hashed name never takes one from a tool that did not collide.
  for (const [n, group] of plain) if (group.length === 1) out.set(n, group[0] as ToolRef), taken.add(n);
  for (const [, group] of plain) {
    if (group.length === 1) continue;
    for (const r of group) {
      const n = sourcedToolName(r, true);
      if (taken.has(n)) continue;
      out.set(n, r);
      taken.add(n);
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function compareRefs(a: ToolRef, b: ToolRef): number {
  const x = JSON.stringify([a.source, a.server, a.tool]);
  const y = JSON.stringify([b.source, b.server, b.tool]);
  return x < y ? -1 : x > y ? 1 : 0;
}
