import { type CommandInput, noMoreThan, oneOf, parseCommand, required, requiredTenant } from "./args.ts";
import { UsageError } from "./errors.ts";
import { table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";

const DECISIONS = ["allow", "ask", "deny"] as const;

/**
 * `agentd policies [list] | set <tool> allow|ask|deny [--pattern <glob>] | remove <tool> [--pattern]`,
 * each with `--tenant <id>`: whether the tenant's agent may call a tool without asking a person.
 */
export async function policies(input: CommandInput): Promise<number> {
  const p = parseCommand(input, { tenant: { type: "string" }, pattern: { type: "string" }, ...JSON_OPTION }, 3);
  const sub = p.positionals[0] ?? "list";
  const tenant = requiredTenant(p, `policies ${sub}`);
  const pattern = (p.values.pattern as string | undefined) ?? "";
  const out = (s: string) => process.stdout.write(s);
  return withApi(input, p, tenant, async (client) => {
    switch (sub) {
      case "list": {
        noMoreThan(p, 1, "policies list");
        const answer = await (await client.api.v1.policies.$get()).json();
        if (printedJson(p, answer)) return 0;
        const set = answer.policies.map((r) => [r.tool, r.pattern || "*", r.decision, time(r.createdAt)]);
        out(set.length ? table(["TOOL", "PATTERN", "DECISION", "SET"], set) : `no policies for tenant ${tenant}\n`);
        out(`\ndefaults: ${answer.tools.map((x) => `${x.name} ${x.defaultDecision}`).join(", ")}\n`);
        return 0;
      }
      case "set": {
        noMoreThan(p, 3, "policies set");
        const tool = required(p, 1, "a tool name", "agentd policies set");
        const decision = oneOf(p, 2, DECISIONS, "a decision", "policies set");
        const rule = await (
          await client.api.v1.policies.$put({
            json: { tool, decision, ...(pattern ? { pattern } : {}) },
          })
        ).json();
        out(`${rule.tool}${rule.pattern ? ` matching "${rule.pattern}"` : ""}: ${rule.decision}\n`);
        return 0;
      }
      case "remove": {
        noMoreThan(p, 2, "policies remove");
        const tool = required(p, 1, "a tool name", "agentd policies remove");
        await client.api.v1.policies[":tool"].$delete({
          param: { tool: encodeURIComponent(tool) },
          query: { pattern },
        });
        out(`removed the policy for ${tool}${pattern ? ` matching "${pattern}"` : ""}: its default applies again\n`);
        return 0;
      }
      default:
        throw new UsageError(`agentd policies: unknown subcommand "${sub}"; use list, set or remove`);
    }
  });
}
