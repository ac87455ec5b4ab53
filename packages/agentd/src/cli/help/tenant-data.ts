// `agentd memory`, `agentd secrets`, `agentd policies` and `agentd approvals`: a tenant's data, through the API's routes.
import { DATA, JSON_LINE, STORE_ENV } from "./common.ts";

const THROUGH_API = `Opens the store directly (no running agentd needed) and does what the API does, through the same
routes in this process: the same checks and errors.`;

export const MEMORY_HELP = `Usage: agentd memory [list] --tenant <id> [--limit <n>] [--json]
       agentd memory search --tenant <id> <words>... [--json]
       agentd memory add --tenant <id> <text>...
       agentd memory delete --tenant <id> <memoryId>

A tenant's long-term memory: what its agent keeps across conversations.

  list                  the newest entries: id, source, created, content (the default)
  search <words>        the best matches (full-text, blended with embeddings when configured)
  add <text>            remembers the text, as a person's note
  delete <memoryId>     forgets one entry

Options:
  --tenant <id>         the tenant
  --limit <n>           how many (default 50)
${JSON_LINE}
${DATA}

${THROUGH_API}

Environment:
${STORE_ENV}
`;

export const SECRETS_HELP = `Usage: agentd secrets [list] --tenant <id> [--json]
       agentd secrets set --tenant <id> <name>      (the value on stdin)
       agentd secrets delete --tenant <id> <name>

A tenant's vault, sealed with AES-256-GCM: names and when they changed are listed, values never
shown again. Reserved names (sys.…, a bot's token) are listed but neither set nor deleted here.

  list                  the names and when each was last set (the default)
  set <name>            stores the value read from stdin (one trailing newline dropped), e.g.
                        \`pass gh/token | agentd secrets set --tenant <id> GH_TOKEN\`; never an
                        argument, which other users of the machine could read
  delete <name>

Options:
  --tenant <id>         the tenant
${JSON_LINE}
${DATA}

${THROUGH_API}

Environment:
${STORE_ENV}
`;

export const POLICIES_HELP = `Usage: agentd policies [list] --tenant <id> [--json]
       agentd policies set --tenant <id> <tool> allow|ask|deny [--pattern <glob>]
       agentd policies remove --tenant <id> <tool> [--pattern <glob>]

Whether the tenant's agent calls a tool freely (allow), asks a person first (ask) or never (deny),
for every call of the tool or those whose subject (a URL, a command) matches a pattern. A rule's
tool is one name or a prefix ending in * ('mcp__github__*': every tool of the MCP server github); a
rule naming the tool goes before a prefix's, and a matching deny wins over every allow.

  list                  the tenant's rules, then every tool's default (the default)
  set <tool> <decision> adds or replaces the rule for the tool (and pattern)
  remove <tool>         removes it: the tool's default applies again

Options:
  --tenant <id>         the tenant
  --pattern <glob>      the subjects the rule covers (* any run of characters), e.g. 'https://api.github.com/*'
${JSON_LINE}
${DATA}

${THROUGH_API}

Environment:
${STORE_ENV}
`;

export const APPROVALS_HELP = `Usage: agentd approvals [list] --tenant <id> [--status <status>] [--json]
       agentd approvals decide --tenant <id> <approvalId> once|always|deny

Tool calls of the tenant's agent waiting for a person (policy "ask"). Deciding wakes the run: once
allows this call, always allows such calls from now on (the rule the approval showed), deny refuses.

  list                  id, tool, status, asked, expires, subject (the default: pending ones)
  decide <id> <decision>

Options:
  --tenant <id>         the tenant
  --status <status>     pending (default), approved, denied, expired, cancelled or all
${JSON_LINE}
${DATA}

${THROUGH_API}

Environment:
${STORE_ENV}
`;
