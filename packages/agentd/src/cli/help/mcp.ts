// `agentd mcp`.
import { envHelp } from "../../config/docs.ts";
import { DATA, JSON_LINE } from "./common.ts";

export const MCP_HELP = `Usage: agentd mcp [list] --tenant <id> [--json]
       agentd mcp add --tenant <id> <name> --url <url> [--header NAME=VALUE]... [--client-id ID
                      [--client-secret SECRET] [--scope SCOPE]...] [--disabled]
       agentd mcp add --tenant <id> <name> [--env NAME=VALUE]... [--disabled] -- <command> [args...]
       agentd mcp enable|disable --tenant <id> <name>
       agentd mcp remove --tenant <id> <name>
       agentd mcp test --tenant <id> <name>

A tenant's MCP servers: their tools are offered to its agent as mcp__<name>__<tool>, with the
server's own schemas, and ask a person before each call until the tenant's policy says otherwise
(PUT /v1/policies). Servers the operator gives every tenant (AGENTD_MCP_SERVERS) are listed too.

  list                  the servers: name, transport, enabled, from (tenant or operator), added, URL
                        or command
  add <name> --url      a streamable HTTP server (an older HTTP+SSE one is tried when it refuses);
                        the URL must pass the SSRF policy (AGENTD_ALLOW_PRIVATE_NET, AGENTD_ALLOW_HOSTS)
  add <name> -- <cmd>   a stdio server: the command runs in the sandbox (as run_code does) with only
                        its PATH, HOME, TMPDIR, LANG, TZ and the --env values (NODE_OPTIONS,
                        PYTHONPATH, LD_PRELOAD, proxies, AGENTD_* and the like are refused)
  enable <name>         offers its tools again (PATCH /v1/mcp/servers/<name>)
  disable <name>        keeps it but offers none of its tools, its connection closed
  remove <name>         removes one of the tenant's own servers
  test <name>           connects and lists the tools the agent would be offered

Options:
  --tenant <id>         the tenant the server belongs to
${JSON_LINE}
  --header NAME=VALUE   an HTTP header; a value ending in \${secret:SECRET} is read from the
                        tenant's vault at connect time, e.g. 'Authorization=Bearer \${secret:GH_TOKEN}'
  --env NAME=VALUE      an environment variable of a stdio server, plain or \${secret:SECRET}
  --client-id ID        an OAuth client registered beforehand at the server's authorization server
                        (without it, agentd registers one dynamically when the server asks for OAuth)
  --client-secret NAME  that client's secret: the name of a secret in the tenant's vault
  --scope SCOPE         a scope to ask for when the server names none (repeatable)
  --disabled            add it turned off (\`agentd mcp enable\` turns it on)
${DATA}

Opens the store directly: no running agentd needed; a running one sees the change at its next
turn. The same is offered over HTTP: GET, POST /v1/mcp/servers, PATCH and DELETE
/v1/mcp/servers/<name>, POST /v1/mcp/servers/<name>/test.

Environment:
${envHelp(["store", "mcp", "AGENTD_ALLOW_PRIVATE_NET", "AGENTD_ALLOW_HOSTS", "AGENTD_SANDBOX", "AGENTD_UNSANDBOXED_CODE"])}
`;
