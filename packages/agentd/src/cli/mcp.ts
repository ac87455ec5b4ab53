import type { McpServer, ValueRef } from "../mcp/definition.ts";
import { describeServer, valueRefOf } from "../mcp/definition.ts";
import { notFound } from "../errors.ts";
import { McpError } from "../mcp/errors.ts";
import { sourcedToolName } from "../tools/sources/names.ts";
import { type CommandInput, parseCommand, required } from "./args.ts";
import { UsageError } from "./errors.ts";
import { table, time } from "./format.ts";
import { JSON_OPTION, printedJson } from "./output.ts";
import { withAdmin } from "./store.ts";
import { withApi } from "./local-api.ts";

/**
 * `agentd mcp list|add|remove|test --tenant <id> …`: a tenant's MCP servers, on the store directly.
 * A running agentd sees a change at its next turn (servers are read at each turn's start).
 */
export async function mcp(input: CommandInput): Promise<number> {
  const p = parseCommand(
    input,
    {
      tenant: { type: "string" },
      url: { type: "string" },
      header: { type: "string", multiple: true },
      env: { type: "string", multiple: true },
      disabled: { type: "boolean" },
      "client-id": { type: "string" },
      "client-secret": { type: "string" },
      scope: { type: "string", multiple: true },
      ...JSON_OPTION,
    },
    64,
  );
  const sub = p.positionals[0] ?? "list";
  const out = (s: string) => process.stdout.write(s);
  const tenant = p.values.tenant as string | undefined;
  if (!tenant) throw new UsageError(`agentd mcp ${sub} needs --tenant <id> (list tenants with \`agentd tenants\`)`);
  const many = p.values as unknown as Record<string, string[] | undefined>;
  const clientId = p.values["client-id"] as string | undefined;
  const clientSecret = p.values["client-secret"] as string | undefined;
  if (sub !== "add" && (p.values.url !== undefined || many.header || many.env || p.values.disabled || clientId))
    throw new UsageError(`agentd mcp ${sub}: --url, --header, --env, --client-id and --disabled go with add`);
  if ((clientSecret !== undefined || many.scope) && clientId === undefined)
    throw new UsageError("agentd mcp add: --client-secret and --scope go with --client-id");
  switch (sub) {
    case "list":
      return withAdmin(input, p, async (app) => {
        const list = await app.mcp.servers.list(app.tenants.scope((await app.tenants.require(tenant)).id));
        if (printedJson(p, { servers: list })) return 0;
        if (list.length === 0)
          out(
            `no MCP servers for tenant ${tenant} yet: add one with \`agentd mcp add --tenant ${tenant} <name> --url <url>\`\n`,
          );
        else out(table(["NAME", "TRANSPORT", "ENABLED", "FROM", "ADDED", "WHERE"], list.map(row)));
        return 0;
      });
    case "add": {
      const name = required(p, 1, "a name for the server", "agentd mcp add");
      const url = p.values.url as string | undefined;
      const command = p.positionals.slice(2);
      if ((url === undefined) === (command.length === 0))
        throw new UsageError(
          "agentd mcp add: give either --url <url> (streamable HTTP) or, after --, the command of a stdio server",
        );
      if (url === undefined && many.header) throw new UsageError("agentd mcp add: --header goes with --url");
      if (url !== undefined && many.env) throw new UsageError("agentd mcp add: --env goes with a stdio command");
      if (url === undefined && clientId) throw new UsageError("agentd mcp add: --client-id goes with --url");
      // A client registered beforehand: its secret by its name in the vault, never the value on a command line.
      const oauth = clientId
        ? {
            oauth: {
              clientId,
              ...(clientSecret ? { clientSecret: { secret: clientSecret } } : {}),
              ...(many.scope ? { scopes: many.scope } : {}),
            },
          }
        : {};
      const def =
        url !== undefined
          ? {
              name,
              transport: "http",
              url,
              headers: pairs(many.header, "--header"),
              ...oauth,
              enabled: !p.values.disabled,
            }
          : {
              name,
              transport: "stdio",
              command: command[0],
              args: command.slice(1),
              env: pairs(many.env, "--env"),
              enabled: !p.values.disabled,
            };
      return withAdmin(input, p, async (app) => {
        const scope = app.tenants.scope((await app.tenants.require(tenant)).id);
        const added = await app.mcp.servers.add(scope, def);
        out(
          `added MCP server ${added.name} (${added.transport}) to tenant ${tenant}; its tools are offered as mcp__${added.name}__<tool> and ask a person first. Check it with \`agentd mcp test --tenant ${tenant} ${added.name}\`\n`,
        );
        return 0;
      });
    }
    case "enable":
    case "disable": {
      const name = required(p, 1, "a server's name", `agentd mcp ${sub}`);
      // Through the API's route: the pool's open connection to the server is closed with it.
      return withApi(input, p, tenant, async (client) => {
        await client.api.v1.mcp.servers[":name"].$patch({
          param: { name: encodeURIComponent(name) },
          json: { enabled: sub === "enable" },
        });
        out(`${sub}d MCP server ${name} of tenant ${tenant}\n`);
        return 0;
      });
    }
    case "remove": {
      const name = required(p, 1, "a server's name", "agentd mcp remove");
      return withAdmin(input, p, async (app) => {
        await app.mcp.servers.remove(app.tenants.scope((await app.tenants.require(tenant)).id), name);
        out(`removed MCP server ${name} from tenant ${tenant}\n`);
        return 0;
      });
    }
    case "test": {
      const name = required(p, 1, "a server's name", "agentd mcp test");
      return withAdmin(input, p, async (app) => {
        const scope = app.tenants.scope((await app.tenants.require(tenant)).id);
        const server = await app.mcp.servers.get(scope, name);
        if (!server) throw notFound(`MCP server "${name}" of tenant ${tenant}`);
        try {
          const tools = await app.mcp.source.listServer(scope, server);
          out(`${name}: connected, ${tools.length} tool${tools.length === 1 ? "" : "s"}\n`);
          if (tools.length > 0)
            out(
              table(
                ["TOOL", "OFFERED AS"],
                tools.map((t) => [t.name, sourcedToolName({ source: "mcp", server: name, tool: t.name })]),
              ),
            );
          return 0;
        } catch (e) {
          if (!McpError.is(e)) throw e;
          process.stderr.write(`agentd: ${e.message}\n`);
          return 1;
        }
      });
    }
    default:
      throw new UsageError(`agentd mcp: unknown subcommand "${sub}"; use list, add, enable, disable, remove or test`);
  }
}

/** NAME=value pairs; a value ending in ${secret:SECRET} names a secret of the tenant's vault. */
function pairs(list: string[] | undefined, flag: string): Record<string, ValueRef> {
  const out: Record<string, ValueRef> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf("=");
    if (eq < 1)
      throw new UsageError(
        `agentd mcp add: ${flag} takes NAME=value or NAME=\${secret:SECRET}, not "${item.slice(0, 60)}"`,
      );
    const name = item.slice(0, eq);
    out[name] = valueRefOf(item.slice(eq + 1));
  }
  return out;
}

const row = (s: McpServer) => [
  s.name,
  s.transport,
  s.enabled ? "yes" : "no",
  s.origin,
  time(s.createdAt),
  describeServer(s),
];
