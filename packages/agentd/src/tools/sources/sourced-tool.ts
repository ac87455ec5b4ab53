import type { OfferedTool } from "../types.ts";
import { validatorOf } from "./json-schema.ts";
import type { SourcedTool, ToolSource } from "./port.ts";

/**
 * A tool a turn recorded from a source, made callable: the model is shown the schema as published,
 * the arguments are checked against a safe reading of it, and the call goes through the source. Its
 * output comes from outside, so it is always fenced as untrusted, and a call cut by its worker's
 * death is run again only when the tool said it only reads (`rerun`); otherwise a person is asked.
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
    // A call whose worker died mid-call ran outside with an unknown outcome: asked again unless the tool only reads.
    rerun: async () => t.rerun === true,
    ...(t.group ? { group: t.group } : {}),
    ...(t.subjectArgs?.length ? bySubjectArgs(t.subjectArgs) : {}),
    ...(t.connection ? { connection: (args: unknown) => connectionOf(t, args) } : {}),
    run: (args, ctx) => source.call(ctx.tenant, { server: t.server, name: t.tool }, args, ctx),
  };
}

/** The connection a call uses: the tool's, completed by one of its arguments when the tool says which. */
function connectionOf(t: SourcedTool, args: unknown): string | undefined {
  if (!t.connectionArg) return t.connection;
  const v = (args as Record<string, unknown> | null)?.[t.connectionArg];
  return typeof v === "string" && v ? `${t.connection}${v}` : undefined;
}

/**
 * The subject of a call whose first words are some arguments' values (a toolkit and its tool), so a
 * rule or an "Always" answer can name one tool of a generic executor rather than every call of it.
 * Spaces and `*` in those values become `?`: a value never reads as two words or as a wildcard.
 */
function bySubjectArgs(names: string[]): Pick<OfferedTool, "subject" | "always"> {
  const head = (args: unknown) =>
    names.map((n) => String((args as Record<string, unknown> | null)?.[n] ?? "").replace(/[\s*]/g, "?")).join(" ");
  const rest = (args: unknown) =>
    JSON.stringify(Object.fromEntries(Object.entries(args ?? {}).filter(([k]) => !names.includes(k))));
  return {
    subject: (args) => `${head(args)} ${rest(args)}`,
    always: (args) => ({ pattern: `${head(args)} *`, shown: `every ${head(args)} call` }),
  };
}
