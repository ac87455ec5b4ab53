// `agentd webhooks`: a tenant's signed outgoing webhooks, through the API's routes.
import { DATA, JSON_LINE, STORE_ENV } from "./common.ts";

export const WEBHOOKS_HELP = `Usage: agentd webhooks [list] --tenant <id> [--json]
       agentd webhooks add --tenant <id> <url> [--events turn.finished,approval.needed,run.failed] [--json]
       agentd webhooks remove --tenant <id> <webhookId>
       agentd webhooks deliveries --tenant <id> <webhookId> [--limit <n>] [--json]

Where agentd posts a tenant's events: a turn answered (turn.finished), a tool call waiting for a
person (approval.needed), a run that failed (run.failed). Each request is signed the Standard
Webhooks way (webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256 with the secret) and
retried with backoff for about two hours until the receiver answers 2xx.

  list                  the tenant's webhooks (the default)
  add <url>             adds one and prints its signing secret, shown this once
  remove <webhookId>    removes it, its secret and its deliveries
  deliveries <id>       what was sent to it, newest first: status, attempts, the last answer

Options:
  --tenant <id>         the tenant
  --events <list>       the events to send (default: all three)
  --limit <n>           deliveries to show (default 100)
${JSON_LINE}
${DATA}

Opens the store directly (no running agentd needed) and does what the API does, through the same
routes in this process: the same checks and errors. A URL on a private address needs AGENTD_ALLOW_HOSTS.

Environment:
${STORE_ENV}
`;
