import { type CommandInput, noMoreThan, parseCommand, requiredTenant, wholeNumber } from "./args.ts";
import { table } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";

/** `agentd usage --tenant <id> [--days <n>] [--json]`: tokens and model calls per UTC day, and today's budget left. */
export async function usage(input: CommandInput): Promise<number> {
  const p = parseCommand(input, { tenant: { type: "string" }, days: { type: "string" }, ...JSON_OPTION }, 1);
  noMoreThan(p, 0, "usage");
  const tenant = requiredTenant(p, "usage");
  const days = wholeNumber(p, "days", 30, "usage", 1);
  return withApi(input, p, tenant, async (client) => {
    const answer = await (await client.api.v1.usage.$get({ query: { days: String(days) } })).json();
    if (printedJson(p, answer)) return 0;
    const budget =
      answer.dailyTokenBudget > 0
        ? `${answer.remainingToday} of ${answer.dailyTokenBudget} tokens left today (UTC)`
        : "no daily token budget (dailyTokenBudget 0)";
    process.stdout.write(`tenant ${tenant}: ${budget}\n`);
    const rows = answer.days.map((d) => [`${d.day} UTC`, String(d.tokens), String(d.modelCalls)]);
    process.stdout.write(rows.length ? table(["DAY", "TOKENS", "MODEL CALLS"], rows) : "no model calls yet\n");
    return 0;
  });
}
