import { deleteTenant } from "../tenancy/delete.ts";
import type { Tenant } from "../tenancy/tenants.ts";
import { type CommandInput, noMoreThan, parseCommand, required } from "./args.ts";
import { UsageError } from "./errors.ts";
import { table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson, progress } from "./output.ts";
import { withAdmin } from "./store.ts";
import { tenantAccess, ACCESS_SUBCOMMANDS } from "./tenant-access.ts";

const SUBCOMMANDS = ["list", "create", "show", "rename", "settings", "delete", ...ACCESS_SUBCOMMANDS];

/**
 * `agentd tenants [list] | create | show | rename | settings | delete`, and the access subcommands
 * of tenant-access.ts (keys, pairing codes, identities): the operator's API, on the store directly.
 */
export async function tenants(input: CommandInput): Promise<number> {
  const p = parseCommand(
    input,
    { ...JSON_OPTION, yes: { type: "boolean" }, display: { type: "string" }, force: { type: "boolean" } },
    10,
  );
  const sub = p.positionals[0] ?? "list";
  const out = (s: string) => process.stdout.write(s);
  const id = () => required(p, 1, "a tenant id", `agentd tenants ${sub}`);
  if (ACCESS_SUBCOMMANDS.includes(sub)) return tenantAccess(input, p, sub);
  switch (sub) {
    case "list":
      noMoreThan(p, 1, `tenants ${sub}`);
      return withApi(input, p, null, async (client) => {
        const all: Tenant[] = [];
        for (let after = ""; ; ) {
          const page = await (await client.api.v1.tenants.$get({ query: { limit: "500", after } })).json();
          all.push(...(page.tenants as Tenant[]));
          if (page.tenants.length < 500) break;
          after = page.tenants.at(-1)?.id as string;
        }
        if (printedJson(p, { tenants: all })) return 0;
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
      noMoreThan(p, 2, `tenants ${sub}`);
      const name = required(p, 1, "a name", "agentd tenants create").trim();
      if (!name || name.length > 200)
        throw new UsageError("agentd tenants create: the name must be 1 to 200 characters");
      return withAdmin(input, p, async (app) => {
        const t = await app.tenants.create(name);
        await app.jobs.syncHeartbeat(t.id, t.settings);
        if (printedJson(p, t)) return 0;
        out(`created tenant ${t.id} (${t.name}); give it an API key with \`agentd tenants key ${t.id}\`\n`);
        return 0;
      });
    }
    case "show": {
      noMoreThan(p, 2, `tenants ${sub}`);
      const tenantId = id();
      return withApi(input, p, null, async (client) => {
        const t = await (
          await client.api.v1.tenants[":id"].$get({ param: { id: encodeURIComponent(tenantId) } })
        ).json();
        if (printedJson(p, t)) return 0;
        out(
          `tenant ${t.id}: ${t.name}, created ${time(t.createdAt)}\nsettings:\n${indent(JSON.stringify(t.settings, null, 2))}\n`,
        );
        return 0;
      });
    }
    case "rename": {
      noMoreThan(p, 3, `tenants ${sub}`);
      const tenantId = id();
      const name = required(p, 2, "the new name", "agentd tenants rename").trim();
      return withApi(input, p, null, async (client) => {
        const t = await (
          await client.api.v1.tenants[":id"].$patch({ param: { id: encodeURIComponent(tenantId) }, json: { name } })
        ).json();
        out(`tenant ${t.id} is now named ${t.name}\n`);
        return 0;
      });
    }
    case "settings": {
      const tenantId = id();
      const settings = Object.fromEntries(p.positionals.slice(2).map(setting));
      return withApi(input, p, null, async (client) => {
        const param = { id: encodeURIComponent(tenantId) };
        const t =
          Object.keys(settings).length === 0
            ? await (await client.api.v1.tenants[":id"].$get({ param })).json()
            : await (await client.api.v1.tenants[":id"].$patch({ param, json: { settings } })).json();
        if (printedJson(p, t.settings)) return 0;
        out(`${JSON.stringify(t.settings, null, 2)}\n`);
        return 0;
      });
    }
    case "delete": {
      noMoreThan(p, 2, `tenants ${sub}`);
      const tenantId = id();
      if (!p.values.yes)
        throw new UsageError(
          `agentd tenants delete removes tenant ${tenantId} with its sessions, memory, secrets and runs, and cannot be undone: add --yes to go ahead`,
        );
      return withAdmin(input, p, async (app) => {
        const bars = { schedules: progress("schedules removed"), runs: progress("unfinished runs cancelled") };
        await deleteTenant(app, tenantId, (s) => {
          if (s.stage === "runs") bars.schedules.end();
          bars[s.stage].step(s.done, s.total);
        });
        bars.schedules.end();
        bars.runs.end();
        out(`deleted tenant ${tenantId}\n`);
        return 0;
      });
    }
    default:
      throw new UsageError(`agentd tenants: unknown subcommand "${sub}"; use ${SUBCOMMANDS.join(", ")}`);
  }
}

/** `name=value`: the value as JSON when it reads as JSON (30, true, null, ["a"]), else as text (Europe/Paris). */
function setting(arg: string): [string, unknown] {
  const eq = arg.indexOf("=");
  if (eq < 1) throw new UsageError(`agentd tenants settings: "${arg}" is not name=value, e.g. timezone=Europe/Paris`);
  const raw = arg.slice(eq + 1);
  try {
    return [arg.slice(0, eq), JSON.parse(raw)];
  } catch {
    return [arg.slice(0, eq), raw];
  }
}

const indent = (s: string) => s.replace(/^/gm, "  ");
