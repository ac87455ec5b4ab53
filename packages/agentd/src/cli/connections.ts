import { randomBytes } from "node:crypto";
import type { Connection } from "../connections/store.ts";
import { type CommandInput, noMoreThan, type Parsed, parseCommand, required } from "./args.ts";
import { withApi } from "./local-api.ts";
import { readFile } from "node:fs/promises";
import { text } from "node:stream/consumers";
import { UsageError } from "./errors.ts";
import { table, time } from "./format.ts";
import { JSON_OPTION, printedJson } from "./output.ts";
import { withAdmin } from "./store.ts";

/**
 * `agentd connections [list] | apps | connect <name> | test <name> | remove <name>`, each with
 * `--tenant <id>`: a tenant's OAuth connections, on the store directly. `connect` prints a link for
 * the person to open (the callback at AGENTD_PUBLIC_URL completes it); tokens are never printed.
 */
export async function connections(input: CommandInput): Promise<number> {
  const p = parseCommand(input, { tenant: { type: "string" }, file: { type: "string" }, ...JSON_OPTION }, 3);
  const sub = p.positionals[0] ?? "list";
  const tenant = p.values.tenant as string | undefined;
  if (!tenant)
    throw new UsageError(`agentd connections ${sub} needs --tenant <id> (list tenants with \`agentd tenants\`)`);
  if (p.values.file !== undefined && !(sub === "apps" && p.positionals[1] === "add"))
    throw new UsageError(`agentd connections ${sub}: --file goes with apps add`);
  const out = (s: string) => process.stdout.write(s);
  const named = () => required(p, 1, "a connection name", `agentd connections ${sub}`);
  switch (sub) {
    case "list":
      return withAdmin(input, p, async (app) => {
        const list = await app.connections.list(app.tenants.scope((await app.tenants.require(tenant)).id));
        if (printedJson(p, { connections: list })) return 0;
        if (list.length === 0)
          out(
            `no connections for tenant ${tenant} yet: \`agentd connections connect --tenant ${tenant} <app>\`, or ask in a chat\n`,
          );
        else out(table(["NAME", "APP", "ACCOUNT", "STATUS", "EXPIRES", "UPDATED"], list.map(row)));
        return 0;
      });
    case "apps":
      if (p.positionals[1] === "add" || p.positionals[1] === "remove") return ownApp(input, p, tenant);
      noMoreThan(p, 1, "connections apps");
      return withAdmin(input, p, async (app) => {
        const list = await app.connections.apps(app.tenants.scope((await app.tenants.require(tenant)).id));
        if (printedJson(p, { apps: list })) return 0;
        if (list.length === 0)
          out(
            `no OAuth apps: the operator sets AGENTD_OAUTH_APPS, or \`agentd connections apps add --tenant ${tenant} <name>\` adds one of the tenant's own\n`,
          );
        else
          out(
            table(
              ["NAME", "OWNER", "SCOPES", "API HOSTS"],
              list.map((a) => [a.name, a.owner, a.scopes.join(" ") || "-", a.apiHosts.join(", ")]),
            ),
          );
        return 0;
      });
    case "connect": {
      const name = named();
      return withAdmin(input, p, async (app) => {
        const scope = app.tenants.scope((await app.tenants.require(tenant)).id);
        const ready = await app.connections.prepare(scope, name);
        if (ready.kind === "error") throw new UsageError(`agentd connections connect: ${ready.message}`);
        const appName =
          ready.kind === "connect"
            ? ready.app
            : ((await app.connections.list(scope)).find((c) => c.name === name)?.app ?? name);
        const id = `oap_cli_${randomBytes(9).toString("hex")}`;
        const { url } = await app.connections.begin(scope, {
          id,
          connection: name,
          app: appName,
          runId: null,
          sessionId: null,
        });
        out(`open this link as the person whose ${appName} account to connect (it works once):\n${url}\n`);
        return 0;
      });
    }
    case "test": {
      const name = named();
      return withAdmin(input, p, async (app) => {
        const r = await app.connections.test(app.tenants.scope((await app.tenants.require(tenant)).id), name);
        out(`${name}: ${r.ok ? "ok" : "failed"}: ${r.detail}\n`);
        return r.ok ? 0 : 1;
      });
    }
    case "remove": {
      const name = named();
      return withAdmin(input, p, async (app) => {
        const r = await app.connections.remove(app.tenants.scope((await app.tenants.require(tenant)).id), name);
        out(
          `removed connection ${name}${r.revoked ? " (its tokens revoked at the provider)" : " (the provider was not asked to revoke its tokens)"}\n`,
        );
        return 0;
      });
    }
    default:
      throw new UsageError(`agentd connections: unknown subcommand "${sub}"; use list, apps, connect, test or remove`);
  }
}

/**
 * `connections apps add <name>` (the app's JSON on stdin or in --file: its client secret never on
 * the command line) and `connections apps remove <name>`: an app of the tenant's own, through PUT and DELETE
 * /v1/oauth-apps/<name>.
 */
async function ownApp(input: CommandInput, p: Parsed, tenant: string): Promise<number> {
  const sub = p.positionals[1] as "add" | "remove";
  const name = required(p, 2, "the app's name", `agentd connections apps ${sub}`);
  const param = { name: encodeURIComponent(name) };
  if (sub === "remove")
    return withApi(input, p, tenant, async (client) => {
      await client.api.v1["oauth-apps"][":name"].$delete({ param });
      process.stdout.write(`removed app ${name} of tenant ${tenant}\n`);
      return 0;
    });
  const file = p.values.file as string | undefined;
  if (file === undefined && process.stdin.isTTY)
    process.stderr.write(`the app ${name} as JSON ({"clientId", "clientSecret", "issuer", "scopes"}), then Ctrl-D:\n`);
  let app: unknown;
  try {
    app = JSON.parse(file === undefined ? await text(process.stdin) : await readFile(file, "utf8"));
  } catch {
    throw new UsageError(
      `agentd connections apps add reads the app as JSON from stdin (or --file), e.g. \`printf '{"clientId":"…","clientSecret":"…","issuer":"https://accounts.example.com"}' | agentd connections apps add --tenant ${tenant} ${name}\``,
    );
  }
  if (typeof app !== "object" || app === null || Array.isArray(app))
    throw new UsageError("agentd connections apps add: the app's JSON must be an object with the app's fields");
  return withApi(input, p, tenant, async (client) => {
    const added = await (
      await client.api.v1["oauth-apps"][":name"].$put({ param, json: app as { clientId: string } })
    ).json();
    if (printedJson(p, added)) return 0;
    process.stdout.write(
      `added app ${name} for tenant ${tenant}: connect with \`agentd connections connect --tenant ${tenant} ${name}\`\n`,
    );
    return 0;
  });
}

const row = (c: Connection) => [
  c.name,
  c.app,
  c.account ?? "-",
  c.status,
  c.expiresAt === null ? "-" : time(c.expiresAt),
  time(c.updatedAt),
];
