import { z } from "zod";
import { ServerName, valueRefOf } from "../../mcp/definition.ts";
import type { McpServers } from "../../mcp/servers.ts";
import { defineTool } from "../define.ts";
import type { Tool } from "../types.ts";

// Small on purpose: this schema goes with every model call. Values are text, `${secret:NAME}` for a vault secret.
const Values = z.object({}).catchall(z.string().max(4_000));
const Input = z.strictObject({
  name: ServerName,
  url: z.string().max(2_000).optional(),
  command: z.string().max(500).optional(),
  args: z.array(z.string().max(4_000)).max(50).optional(),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the syntax of a vault reference, shown to the model
  headers: Values.optional().describe("with url; a value ${secret:NAME} is a vault secret, never the secret itself"),
  env: Values.optional().describe("with command; values as headers"),
});

const refs = (values: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, valueRefOf(v)]));

/**
 * `mcp_add_server`: the agent adds an MCP server for its tenant when a person asks. It always asks
 * that person first (the approval shows the URL or command), and it takes secrets by their name in
 * the vault only: the person puts the value there themselves.
 */
export function mcpServerTools(servers: McpServers): Tool[] {
  return [
    defineTool({
      name: "mcp_add_server",
      description: "Add an MCP server (url, or a command run in the sandbox); its tools become mcp__<name>__<tool>.",
      input: Input,
      risk: "high",
      defaultDecision: "ask",
      subject: (a) => `${a.name}: ${a.url ?? [a.command ?? "", ...(a.args ?? [])].join(" ")}`,
      async run(a, ctx) {
        if ((a.url === undefined) === (a.command === undefined))
          throw new Error("give either url (an HTTP server) or command (a stdio server), not both or neither");
        const def =
          a.url !== undefined
            ? { name: a.name, transport: "http", url: a.url, headers: refs(a.headers) }
            : { name: a.name, transport: "stdio", command: a.command, args: a.args ?? [], env: refs(a.env) };
        const added = await servers.add(ctx.tenant, def);
        return `added the MCP server "${added.name}": its tools are offered from the next message on, as mcp__${added.name}__<tool>, each asking before it runs`;
      },
    }),
  ];
}
