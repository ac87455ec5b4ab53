import { type CommandInput, noMoreThan, parseCommand, required, requiredTenant } from "./args.ts";
import { UsageError } from "./errors.ts";
import { brief, table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";

/**
 * `agentd memory [list] | search <words> | add <text> | delete <id>`, each with `--tenant <id>`: a
 * tenant's long-term memory, through the API in this process.
 */
export async function memory(input: CommandInput): Promise<number> {
  const p = parseCommand(input, { tenant: { type: "string" }, limit: { type: "string" }, ...JSON_OPTION }, 50);
  const sub = p.positionals[0] ?? "list";
  const tenant = requiredTenant(p, `memory ${sub}`);
  const limit = p.values.limit === undefined ? "50" : String(p.values.limit);
  const out = (s: string) => process.stdout.write(s);
  return withApi(input, p, tenant, async (client) => {
    switch (sub) {
      case "list":
      case "search": {
        if (sub === "list") noMoreThan(p, 1, "memory list");
        const q = p.positionals.slice(1).join(" ");
        if (sub === "search" && !q.trim()) throw new UsageError("agentd memory search needs words to look for");
        const { memories } = await (await client.api.v1.memory.$get({ query: { limit, ...(q ? { q } : {}) } })).json();
        if (printedJson(p, { memories })) return 0;
        if (memories.length === 0) out(sub === "search" ? `nothing in memory matches "${q}"\n` : "memory is empty\n");
        else
          out(
            table(
              ["ID", "SOURCE", "CREATED", ...(sub === "search" ? ["SCORE"] : []), "CONTENT"],
              memories.map((m) => [
                m.id,
                m.source,
                time(m.createdAt),
                ...(sub === "search" ? [m.score === undefined ? "-" : m.score.toFixed(2)] : []),
                brief(m.content, 80),
              ]),
            ),
          );
        return 0;
      }
      case "add": {
        const content = p.positionals.slice(1).join(" ");
        if (!content.trim()) throw new UsageError("agentd memory add needs the text to remember");
        const entry = await (await client.api.v1.memory.$post({ json: { content } })).json();
        if (printedJson(p, entry)) return 0;
        out(`remembered ${entry.id}\n`);
        return 0;
      }
      case "delete": {
        noMoreThan(p, 2, "memory delete");
        const id = required(p, 1, "a memory id (`agentd memory` lists them)", "agentd memory delete");
        await client.api.v1.memory[":id"].$delete({ param: { id: encodeURIComponent(id) } });
        out(`forgot ${id}\n`);
        return 0;
      }
      default:
        throw new UsageError(`agentd memory: unknown subcommand "${sub}"; use list, search, add or delete`);
    }
  });
}
