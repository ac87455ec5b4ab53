import type { OfferedTool } from "../types.ts";
import { validatorOf } from "./json-schema.ts";
import type { SourcedTool, ToolSource } from "./port.ts";

/**
 * A tool a turn recorded from a source, made callable: the model is shown the schema as published,
 * the arguments are checked against a safe reading of it, and the call goes through the source. Its
 * output comes from outside, so it is always fenced as untrusted.
 */
export function sourcedTool(t: SourcedTool, source: ToolSource): OfferedTool {
  return {
    name: t.name,
    description: t.description,
    input: validatorOf(t.inputSchema),
    jsonSchema: t.inputSchema,
    risk: t.risk,
    defaultDecision: t.defaultDecision,
    untrusted: true,
    run: (args, ctx) => source.call(ctx.tenant, { server: t.server, name: t.tool }, args, ctx),
  };
}
