import { randomBytes } from "node:crypto";
import { type CommandInput, parseCommand, required } from "./args.ts";
import { UsageError } from "./errors.ts";
import { table } from "./format.ts";
import { withAdmin } from "./store.ts";

/**
 * `agentd composio [list] | connect <toolkit> | remove <id>`, each with `--tenant <id>`: the tenant's
 * accounts at Composio (its own Composio user's), on the store directly. `connect` prints a Connect
 * Link for the person to open; credentials are never printed (Composio keeps them).
 */
export async function composio(input: CommandInput): Promise<number> {
  const p = parseCommand(input, { tenant: { type: "string" }, json: { type: "boolean" } }, 2);
  const sub = p.positionals[0] ?? "list";
  const tenant = p.values.tenant as string | undefined;
  if (!tenant)
    throw new UsageError(`agentd composio ${sub} needs --tenant <id> (list tenants with \`agentd tenants\`)`);
  const out = (s: string) => process.stdout.write(s);
  const scopeOf = async (app: Parameters<Parameters<typeof withAdmin>[2]>[0]) =>
    app.tenants.scope((await app.tenants.require(tenant)).id);
  switch (sub) {
    case "list":
      return withAdmin(input, p, async (app) => {
        const scope = await scopeOf(app);
        const enabled = await app.composio.enabled(scope);
        const accounts = enabled ? await app.composio.accounts.list(scope) : [];
        if (p.values.json) out(`${JSON.stringify({ enabled, accounts })}\n`);
        else if (!enabled)
          out(
            "Composio is not set up for this tenant: the operator sets AGENTD_COMPOSIO_API_KEY, or the tenant stores its own key in the vault as COMPOSIO_API_KEY\n",
          );
        else if (accounts.length === 0)
          out(
            `no Composio accounts for tenant ${tenant} yet: \`agentd composio connect --tenant ${tenant} <toolkit>\`, or ask in a chat\n`,
          );
        else
          out(
            table(
              ["TOOLKIT", "STATUS", "ID", "CREATED (UTC)"],
              accounts.map((a) => [a.toolkit, a.status, a.id, a.createdAt.replace("T", " ").replace(/\.\d+Z$/, "Z")]),
            ),
          );
        return 0;
      });
    case "connect": {
      const toolkit = required(p, 1, "a toolkit slug (github, gmail, …)", "agentd composio connect");
      return withAdmin(input, p, async (app) => {
        const { url } = await app.composio.accounts.begin(await scopeOf(app), {
          id: `oap_cli_${randomBytes(9).toString("hex")}`,
          toolkit,
          runId: null,
          sessionId: null,
        });
        out(`open this link as the person whose ${toolkit} account to connect through Composio:\n${url}\n`);
        return 0;
      });
    }
    case "remove": {
      const id = required(p, 1, "an account id (from agentd composio list)", "agentd composio remove");
      return withAdmin(input, p, async (app) => {
        const { removed } = await app.composio.accounts.remove(await scopeOf(app), id);
        out(`removed the ${removed.toolkit} account ${removed.id} from Composio (it revokes its tokens)\n`);
        return 0;
      });
    }
    default:
      throw new UsageError(`agentd composio: unknown subcommand "${sub}"; use list, connect or remove`);
  }
}
