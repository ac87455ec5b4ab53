import { type CommandInput, parseCommand, required } from "./args.ts";
import { UsageError } from "./errors.ts";
import { table, time } from "./format.ts";
import { withAdmin } from "./store.ts";
import type { Tenant } from "../tenancy/tenants.ts";

/** `agentd tenants [list] | create <name> | key <tenantId> | pair <tenantId>`, on the store directly. */
export async function tenants(input: CommandInput): Promise<number> {
  const p = parseCommand(input, {}, 2);
  const sub = p.positionals[0] ?? "list";
  const out = (s: string) => process.stdout.write(s);
  switch (sub) {
    case "list":
      if (p.positionals.length > 1)
        throw new UsageError(`agentd tenants list takes no argument; see \`agentd tenants --help\``);
      return withAdmin(input, p, async (app) => {
        const all: Tenant[] = [];
        for (
          let after = "", page: Tenant[];
          (page = await app.tenants.list(500, after)).length > 0;
          after = page.at(-1)!.id
        ) {
          all.push(...page);
          if (page.length < 500) break;
        }
        if (all.length === 0) out("no tenants yet: make one with `agentd tenants create <name>`\n");
        else
          out(
            table(
              ["ID", "NAME", "CREATED"],
              all.map((t) => [t.id, t.name, time(t.createdAt)]),
            ),
          );
        return 0;
      });
    case "create": {
      const name = required(p, 1, "a name", "agentd tenants create").trim();
      if (!name || name.length > 200)
        throw new UsageError("agentd tenants create: the name must be 1 to 200 characters");
      return withAdmin(input, p, async (app) => {
        const t = await app.tenants.create(name);
        await app.jobs.syncHeartbeat(t.id, t.settings);
        out(`created tenant ${t.id} (${t.name}); give it an API key with \`agentd tenants key ${t.id}\`\n`);
        return 0;
      });
    }
    case "key": {
      const id = required(p, 1, "a tenant id", "agentd tenants key");
      return withAdmin(input, p, async (app) => {
        const k = await app.tenants.createApiKey(id);
        out(`API key ${k.id} for tenant ${id} (shown this once; only its hash is kept):\n${k.key}\n`);
        return 0;
      });
    }
    case "pair": {
      const id = required(p, 1, "a tenant id", "agentd tenants pair");
      return withAdmin(input, p, async (app) => {
        const c = await app.tenants.createPairingCode(id);
        out(
          `pairing code for tenant ${id}: ${c.code} (one use, until ${time(c.expiresAt)}); send "/start ${c.code}" from the channel to pair\n`,
        );
        return 0;
      });
    }
    default:
      throw new UsageError(`agentd tenants: unknown subcommand "${sub}"; use list, create, key or pair`);
  }
}
