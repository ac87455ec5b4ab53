import { type CommandInput, noMoreThan, parseCommand, required, requiredTenant } from "./args.ts";
import { UsageError } from "./errors.ts";
import { table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";

const EVENTS = ["turn.finished", "approval.needed", "run.failed"] as const;
type Event = (typeof EVENTS)[number];

/**
 * `agentd webhooks [list] | add <url> [--events a,b] | remove <id> | deliveries <id>`, each with
 * `--tenant <id>`: the tenant's signed outgoing webhooks and what was delivered to them.
 */
export async function webhooks(input: CommandInput): Promise<number> {
  const p = parseCommand(
    input,
    { tenant: { type: "string" }, events: { type: "string" }, limit: { type: "string" }, ...JSON_OPTION },
    3,
  );
  const sub = p.positionals[0] ?? "list";
  const tenant = requiredTenant(p, `webhooks ${sub}`);
  const out = (s: string) => process.stdout.write(s);
  return withApi(input, p, tenant, async (client) => {
    const api = client.api.v1.webhooks;
    switch (sub) {
      case "list": {
        noMoreThan(p, 1, "webhooks list");
        const answer = await (await api.$get()).json();
        if (printedJson(p, answer)) return 0;
        const rows = answer.webhooks.map((w) => [w.id, w.url, w.events.join(","), time(w.createdAt)]);
        out(rows.length ? table(["ID", "URL", "EVENTS", "ADDED"], rows) : `no webhooks for tenant ${tenant}\n`);
        return 0;
      }
      case "add": {
        noMoreThan(p, 2, "webhooks add");
        const url = required(p, 1, "the URL to post events to", "agentd webhooks add");
        const events = eventsOf(p.values.events as string | undefined);
        const res = await api.$post({ json: { url, ...(events ? { events } : {}) } });
        const added = await res.json();
        if (printedJson(p, added)) return 0;
        out(`added webhook ${added.webhook.id}: ${added.webhook.events.join(", ")} to ${added.webhook.url}\n`);
        out(`signing secret (shown once, keep it where the receiver checks signatures): ${added.secret}\n`);
        return 0;
      }
      case "remove": {
        noMoreThan(p, 2, "webhooks remove");
        const id = required(p, 1, "a webhook id", "agentd webhooks remove");
        await api[":id"].$delete({ param: { id: encodeURIComponent(id) } });
        out(`removed webhook ${id}\n`);
        return 0;
      }
      case "deliveries": {
        noMoreThan(p, 2, "webhooks deliveries");
        const id = required(p, 1, "a webhook id", "agentd webhooks deliveries");
        const limit = (p.values.limit as string | undefined) ?? "100";
        const answer = await (
          await api[":id"].deliveries.$get({ param: { id: encodeURIComponent(id) }, query: { limit } })
        ).json();
        if (printedJson(p, answer)) return 0;
        const rows = answer.deliveries.map((d) => [
          d.id,
          d.event,
          d.status,
          String(d.attempts),
          d.lastStatus === null ? "-" : String(d.lastStatus),
          time(d.updatedAt),
        ]);
        out(
          rows.length
            ? table(["DELIVERY", "EVENT", "STATUS", "ATTEMPTS", "LAST", "UPDATED"], rows)
            : `no deliveries for webhook ${id}\n`,
        );
        return 0;
      }
      default:
        throw new UsageError(`agentd webhooks: unknown subcommand "${sub}"; use list, add, remove or deliveries`);
    }
  });
}

/** `--events turn.finished,run.failed`: checked here so a typo is a usage mistake, not a server error. */
function eventsOf(given: string | undefined): Event[] | undefined {
  if (given === undefined) return undefined;
  const list = given
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  const wrong = list.find((e) => !(EVENTS as readonly string[]).includes(e));
  if (wrong !== undefined || list.length === 0)
    throw new UsageError(
      `agentd webhooks add: --events takes ${EVENTS.join(", ")} (comma-separated), not "${wrong ?? given}"`,
    );
  return list as Event[];
}
