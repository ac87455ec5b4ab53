import { text } from "node:stream/consumers";
import { type CommandInput, noMoreThan, parseCommand, required, requiredTenant } from "./args.ts";
import { UsageError } from "./errors.ts";
import { table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";

/**
 * `agentd secrets [list] | set <name> | delete <name>`, each with `--tenant <id>`: a tenant's vault
 * (names only; a value is written from stdin and never read back).
 */
export async function secrets(input: CommandInput): Promise<number> {
  const p = parseCommand(input, { tenant: { type: "string" }, ...JSON_OPTION }, 2);
  const sub = p.positionals[0] ?? "list";
  const tenant = requiredTenant(p, `secrets ${sub}`);
  const out = (s: string) => process.stdout.write(s);
  const name = () => required(p, 1, "a secret name", `agentd secrets ${sub}`);
  switch (sub) {
    case "list":
      noMoreThan(p, 1, "secrets list");
      return withApi(input, p, tenant, async (client) => {
        const list = await (await client.api.v1.secrets.$get()).json();
        if (printedJson(p, list)) return 0;
        if (list.secrets.length === 0)
          out(`no secrets for tenant ${tenant}: \`printf %s VALUE | agentd secrets set --tenant ${tenant} NAME\`\n`);
        else
          out(
            table(
              ["NAME", "UPDATED"],
              list.secrets.map((s) => [s.name, time(s.updatedAt)]),
            ),
          );
        return 0;
      });
    case "set": {
      const key = name();
      // From stdin only: a value on the command line would be in the process list and the shell's history.
      if (process.stdin.isTTY) process.stderr.write(`the value of ${key}, then Ctrl-D:\n`);
      const value = (await text(process.stdin)).replace(/\r?\n$/, "");
      if (value === "")
        throw new UsageError(
          `agentd secrets set reads the value from stdin: \`printf %s VALUE | agentd secrets set --tenant ${tenant} ${key}\``,
        );
      return withApi(input, p, tenant, async (client) => {
        await client.api.v1.secrets[":name"].$put({ param: { name: encodeURIComponent(key) }, json: { value } });
        out(`stored secret ${key} of tenant ${tenant}\n`);
        return 0;
      });
    }
    case "delete": {
      const key = name();
      return withApi(input, p, tenant, async (client) => {
        await client.api.v1.secrets[":name"].$delete({ param: { name: encodeURIComponent(key) } });
        out(`deleted secret ${key} of tenant ${tenant}\n`);
        return 0;
      });
    }
    default:
      throw new UsageError(`agentd secrets: unknown subcommand "${sub}"; use list, set or delete`);
  }
}
