import { z } from "zod";

/** Keywords whose value is one schema. */
const ONE = new Set([
  "items",
  "additionalProperties",
  "additionalItems",
  "unevaluatedProperties",
  "unevaluatedItems",
  "not",
  "if",
  "then",
  "else",
  "contains",
  "propertyNames",
]);
/** Keywords whose value is a list of schemas. */
const LIST = new Set(["anyOf", "allOf", "oneOf", "prefixItems"]);
/** Keywords whose value maps names to schemas (the names are data, not keywords). */
const MAP = new Set(["properties", "$defs", "definitions", "dependentSchemas"]);
/** Dropped: a regular expression a server wrote could backtrack for minutes on the model's text (the server still checks it). */
const UNSAFE = new Set(["pattern", "patternProperties"]);
const MAX_DEPTH = 32;

/**
 * A validator for a tool's JSON Schema from outside: zod's own conversion, of a copy without the
 * keywords that would run a stranger's regular expression, cut at a depth no real schema reaches.
 * A schema zod cannot read checks only that the arguments are an object: the server it came from
 * checks them again, and the model is shown the schema as published.
 */
export function validatorOf(schema: Record<string, unknown>): z.ZodType {
  try {
    return z.fromJSONSchema(safeCopy(schema, 0) as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    return z.record(z.string(), z.unknown());
  }
}

function safeCopy(node: unknown, depth: number): unknown {
  if (typeof node !== "object" || node === null || Array.isArray(node)) return node;
  if (depth > MAX_DEPTH) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (UNSAFE.has(k)) continue;
    // "items" was a list of schemas before draft 2020-12.
    if (ONE.has(k)) out[k] = Array.isArray(v) ? v.map((s) => safeCopy(s, depth + 1)) : safeCopy(v, depth + 1);
    else if (LIST.has(k) && Array.isArray(v)) out[k] = v.map((s) => safeCopy(s, depth + 1));
    else if (MAP.has(k) && typeof v === "object" && v !== null && !Array.isArray(v))
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, safeCopy(s, depth + 1)]));
    else out[k] = v;
  }
  return out;
}
