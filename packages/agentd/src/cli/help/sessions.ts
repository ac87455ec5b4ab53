// `agentd sessions`, `agentd blobs`, `agentd usage` and `agentd workers`: what the API shows of a tenant's conversations, files and use.
import { DATA, JSON_LINE, STORE_ENV } from "./common.ts";

const THROUGH_API = `Opens the store directly (no running agentd needed) and does what the API does, through the same
routes in this process: the same checks and errors. Times are printed with their zone.`;

export const SESSIONS_HELP = `Usage: agentd sessions [list] --tenant <id> [--limit <n>] [--json]
       agentd sessions show --tenant <id> <sessionId> [--after <seq>] [--limit <n>] [--json]
       agentd sessions follow --tenant <id> <sessionId> [--after <seq>] [--limit <n>] [--json]

A tenant's conversations: one per channel and conversation (a Telegram chat, an API client's
conversation name, the OpenAI endpoint's conversation, an MCP client's), with their messages.

  list                  id, channel, conversation, started, last message (the default)
  show <sessionId>      the session and its messages, oldest first: seq, time, role, content
  follow <sessionId>    its messages as they are stored (GET /v1/sessions/<id>/events): the
                        person's, the agent's replies, reminders' and schedules' results; until
                        Ctrl-C, or --limit messages. Starts with what comes next, or after --after

Options:
  --tenant <id>         the tenant
  --after <seq>         show, follow: the messages after this one (0: from the first)
  --limit <n>           list, show: how many (default 100); follow: stop after n messages
${JSON_LINE}; follow: one JSON object a line
${DATA}

${THROUGH_API}

Environment:
${STORE_ENV}
`;

export const BLOBS_HELP = `Usage: agentd blobs [list] --tenant <id> [--limit <n>] [--json]
       agentd blobs upload --tenant <id> <file> [--type <mime>] [--name <name>] [--json]
       agentd blobs get --tenant <id> <blobId> [--out <file>]

A tenant's files: what its people sent (photos, voice notes, documents) and uploads to attach to
a message (POST /v1/messages with "attachments": ["<blobId>"]).

  list                  id, kind, type, bytes, name, stored (the default; newest first)
  upload <file>         stores the file; its type from --type, else from its extension
  get <blobId>          its bytes, to --out <file> (or stdout when redirected)

Options:
  --tenant <id>         the tenant
  --limit <n>           how many (default 100)
  --type <mime>         upload: the file's type (image/png, application/pdf…)
  --name <name>         upload: its name as people see it (default: the file's)
  -o, --out <file>      get: where to write the bytes (made readable by you only)
${JSON_LINE}
${DATA}

${THROUGH_API} Uploads are bounded by AGENTD_MAX_MEDIA_BYTES.

Environment:
${STORE_ENV}
`;

export const USAGE_HELP = `Usage: agentd usage --tenant <id> [--days <n>] [--json]

A tenant's model use: tokens and model calls per UTC day, newest first, and what is left of
today's token budget (the tenant's dailyTokenBudget setting; 0 is none).

Options:
  --tenant <id>         the tenant
  --days <n>            how many days (default 30)
${JSON_LINE}
${DATA}

${THROUGH_API}

Environment:
${STORE_ENV}
`;

export const WORKERS_HELP = `Usage: agentd workers [--json]

The live workers on this store (\`agentd start\` or \`agentd worker\` processes whose heartbeat is
recent): id, when each started, its last heartbeat, and the workflows it runs with their versions.
None means runs wait: start one.

Options:
${JSON_LINE}
${DATA}

${THROUGH_API}

Environment:
${STORE_ENV}
`;
