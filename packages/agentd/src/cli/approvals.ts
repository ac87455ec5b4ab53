import { type CommandInput, noMoreThan, oneOf, parseCommand, required, requiredTenant } from "./args.ts";
import { UsageError } from "./errors.ts";
import { brief, table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";

const STATUSES = ["pending", "approved", "denied", "expired", "cancelled", "all"] as const;
const DECISIONS = ["once", "always", "deny"] as const;

/**
 * `agentd approvals [list] [--status <s>] | decide <id> once|always|deny`, each with `--tenant <id>`:
 * tool calls of the tenant's agent waiting for a person, and the decision that wakes their run.
 */
export async function approvals(input: CommandInput): Promise<number> {
  const p = parseCommand(input, { tenant: { type: "string" }, status: { type: "string" }, ...JSON_OPTION }, 3);
  const sub = p.positionals[0] ?? "list";
  const tenant = requiredTenant(p, `approvals ${sub}`);
  const out = (s: string) => process.stdout.write(s);
  return withApi(input, p, tenant, async (client) => {
    switch (sub) {
      case "list": {
        noMoreThan(p, 1, "approvals list");
        const status = (p.values.status as string | undefined) ?? "pending";
        if (!(STATUSES as readonly string[]).includes(status))
          throw new UsageError(`agentd approvals: unknown status "${status}"; use one of ${STATUSES.join(", ")}`);
        const answer = await (
          await client.api.v1.approvals.$get({ query: { status: status as (typeof STATUSES)[number] } })
        ).json();
        if (printedJson(p, answer)) return 0;
        if (answer.approvals.length === 0) out(`no ${status === "all" ? "" : `${status} `}approvals\n`);
        else
          out(
            table(
              ["ID", "TOOL", "STATUS", "ASKED", "EXPIRES", "SUBJECT"],
              answer.approvals.map((a) => [
                a.id,
                a.tool,
                a.status,
                time(a.createdAt),
                time(a.expiresAt),
                brief(a.subject, 60),
              ]),
            ),
          );
        return 0;
      }
      case "decide": {
        noMoreThan(p, 3, "approvals decide");
        const id = required(p, 1, "an approval id (`agentd approvals` lists them)", "agentd approvals decide");
        const decision = oneOf(p, 2, DECISIONS, "a decision", "approvals decide");
        const a = await (
          await client.api.v1.approvals[":id"].$post({
            param: { id: encodeURIComponent(id) },
            json: { decision },
          })
        ).json();
        out(`${a.id}: ${a.status}; run ${a.runId} goes on as soon as a worker runs it\n`);
        return 0;
      }
      default:
        throw new UsageError(`agentd approvals: unknown subcommand "${sub}"; use list or decide`);
    }
  });
}
