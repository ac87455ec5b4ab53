// `agentd composio`.
import { envHelp } from "../../config/docs.ts";
import { DATA } from "./common.ts";

export const COMPOSIO_HELP = `Usage: agentd composio [list] --tenant <id> [--json]
       agentd composio connect --tenant <id> <toolkit>
       agentd composio remove --tenant <id> <account id>

A tenant's accounts at Composio (GitHub, Gmail, Slack and Composio's other toolkits), held by
Composio for the tenant's own Composio user (agentd-<tenant id>, never shared). Composio keeps the
credentials; agentd never prints or stores them. In a chat the agent finds a toolkit's tools
(composio__composio__find_tools), runs one (composio__composio__execute, asking first unless a
policy allows), and sends the person a Connect Link by itself when the toolkit is not connected.

  list                  the accounts: toolkit, status (ACTIVE, INITIATED, EXPIRED, …), id, created
  connect <toolkit>     prints a Composio Connect Link for the person to open; Composio sends them
                        back to $AGENTD_PUBLIC_URL/composio/callback
  remove <id>           deletes the account at Composio (Composio revokes its tokens)

Options:
  --tenant <id>         the tenant the accounts belong to
  --json                list as JSON: { enabled, accounts: [{ id, toolkit, status, createdAt }] }
${DATA}

The key is the operator's (AGENTD_COMPOSIO_API_KEY) or the tenant's own, stored in its vault as
COMPOSIO_API_KEY. Opens the store directly: no running agentd needed. The same is offered over
HTTP: GET /v1/composio/accounts, POST /v1/composio/accounts/<toolkit>/connect,
DELETE /v1/composio/accounts/<id>.

Environment:
${envHelp(["store", "AGENTD_COMPOSIO_API_KEY", "AGENTD_COMPOSIO_BASE_URL", "AGENTD_COMPOSIO_TOOLKIT_VERSIONS", "AGENTD_PUBLIC_URL"])}
`;
