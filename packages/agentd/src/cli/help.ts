// The --help text of every command. Each says what the command does, its arguments and options, and
// the settings it reads, so `agentd <command> --help` is enough to use it. The settings' lines are
// drawn from their one schema (config/variables.ts).
import { envHelp } from "../config/docs.ts";

const DATA = `  --data <dir>          the data folder: SQLite files, master key, admin token
                        (default: ./data, or $AGENTD_DATA)
  -h, --help            show this help`;

const STORE_ENV = envHelp(["store"]);
const ALL_SERVER = envHelp([
  "store",
  "server",
  "model",
  "agent",
  "web tools",
  "vault",
  "telegram",
  "twilio",
  "whatsapp",
]);

export const HELP: Record<string, string> = {
  agentd: `agentd: a self-hostable, multi-tenant agentic operating system on a durable-execution kernel

Usage: agentd [command] [options]

Commands:
  start                 everything in one process: store, worker, scheduler and HTTP API (default)
  serve                 the HTTP API only (split role for a cluster on Postgres)
  worker                the worker and scheduler only (split role for a cluster on Postgres)
  chat                  talk to the agent in the terminal, replies streamed token by token
  doctor                check the store, master key, model endpoint, channels and admin token
  tenants               list and create tenants, make API keys and pairing codes
  bots                  add, list and remove tenants' own Telegram bots
  runs                  list runs, show one's journal, retry or cancel one
  schedules             list schedules with their next fire times
  migrate               apply the database migrations and report the schema versions
  vault rotate          re-encrypt every secret under a new master key

Options (every command):
${DATA}
  -v, --version         print the version

Run \`agentd <command> --help\` for a command's arguments and settings.

Environment:
${envHelp(["store", "server", "model"])}
  (every setting: \`agentd help settings\`)
`,

  start: `Usage: agentd start [--data <dir>]

Runs agentd in one process: opens the store (applying migrations), starts the worker that executes
runs and fires schedules, and serves the HTTP API. Prints one line when ready; stops cleanly on
Ctrl-C (SIGINT) or SIGTERM. Without a model configured it still starts, and says how to set one.
Several \`agentd start\` processes can share one Postgres database.

Options:
${DATA}

Environment:
${ALL_SERVER}
`,

  serve: `Usage: agentd serve [--data <dir>]

Serves the HTTP API without executing runs: messages are accepted and turns started, and
\`agentd worker\` processes sharing the same database execute them. For a cluster on Postgres;
on one machine \`agentd start\` does both. Stops cleanly on SIGINT or SIGTERM.

Options:
${DATA}

Environment:
${envHelp(["store", "server", "vault"])}
  (the model settings of \`agentd start --help\` matter to workers, not to this role)
`,

  worker: `Usage: agentd worker [--data <dir>]

Executes runs (agent turns, reminders, schedules) without serving the API: the split role for a
cluster on Postgres, beside \`agentd serve\` processes. Stops cleanly on SIGINT or SIGTERM, leaving
unfinished runs to the other workers.

Options:
${DATA}

Environment:
${envHelp(["store", "model", "agent", "web tools", "vault", "telegram", "twilio", "whatsapp"])}
  (every process of a cluster needs the same AGENTD_MASTER_KEY)
`,

  chat: `Usage: agentd chat [--tenant <id>] [--conversation <name>] [--url <url>] [--data <dir>]

A conversation in the terminal: each line you type is a message; the reply is streamed token by
token. Tool use is shown on its own line; when a tool call needs approval you are asked, and answer
y (this call), a (always, for this tool) or n (deny). /exit or Ctrl-D quits. Reads stdin line by
line when it is a pipe too, and exits once the last reply has arrived.

It talks to the agentd answering at --url. If none answers there, it runs agentd in this process
(on the data folder, API on a free loopback port) and talks to that.

Options:
  --tenant <id>         the tenant to talk as (admin token only; default: a tenant named "local",
                        created on first use)
  --conversation <name> the conversation (session) to continue (default: cli)
  --url <url>           the agentd API (default: $AGENTD_URL, else http://AGENTD_HOST:AGENTD_PORT,
                        i.e. http://127.0.0.1:8787)
${DATA}

Environment:
${envHelp(["client", "AGENTD_ADMIN_TOKEN"])}
  (when agentd runs in this process, the settings of \`agentd start --help\` apply)
`,

  doctor: `Usage: agentd doctor [--data <dir>]

Checks that agentd can run here and prints one line per check, "ok" or "FAIL" with how to fix it:
  settings      every variable set is valid (one line per wrong one, naming it), and no AGENTD_
                variable is one agentd does not read (a typo: the likely one is named)
  store         the data folder is writable (SQLite), or DATABASE_URL is reachable (Postgres);
                the schema is not newer than this agentd, and which migrations are pending
  master key    AGENTD_MASTER_KEY or <data>/master.key is a valid key, and the file has mode 0600
  model         the model endpoint answers with the configured key (GET <base URL>/models, else a
                one-token completion) and offers the configured model
  channels      each configured channel answers with its credentials (Telegram: getMe with
                TELEGRAM_BOT_TOKEN; Twilio: the account with TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN;
                WhatsApp: the phone number id with WHATSAPP_ACCESS_TOKEN); none configured is fine:
                chat and the HTTP API need none
  admin token   AGENTD_ADMIN_TOKEN or <data>/admin.token is present and private
Changes nothing. Exit code 0 when every check passes, 1 otherwise.

Options:
${DATA}

Environment: as \`agentd start --help\`.
`,

  tenants: `Usage: agentd tenants [list]
       agentd tenants create <name>
       agentd tenants key <tenantId>
       agentd tenants pair <tenantId>

  list                  the tenants: id, name, created (the default)
  create <name>         a new tenant; prints its id
  key <tenantId>        a new API key for the tenant (shown once: only its hash is stored)
  pair <tenantId>       a one-time pairing code: a person sends "/start CODE" from a channel to be
                        bound to the tenant (valid 24 hours)

Opens the store directly: no running agentd needed.

Options:
${DATA}

Environment:
${STORE_ENV}
`,

  bots: `Usage: agentd bots [list] [--tenant <id>]
       agentd bots add --tenant <id> --token-stdin [--mode webhook|polling]
       agentd bots remove --tenant <id> <botId>

A tenant's own Telegram bot: people paired through it talk to that tenant only (its sessions and
pairings are its own, apart from the deployment's TELEGRAM_BOT_TOKEN bot and other tenants' bots).

  list                  the bots: id, tenant, @username, mode, created, webhook URL (all tenants'
                        without --tenant)
  add                   checks the token with Telegram (getMe), keeps it in the tenant's vault (under
                        a reserved name no tool can read) and, in webhook mode, points Telegram at
                        $AGENTD_PUBLIC_URL/channels/telegram/<botId> with a secret of its own
  remove <botId>        removes Telegram's webhook, the bot, its secrets and the pairings made
                        through it (its sessions stay)

Options:
  --tenant <id>         the tenant the bot belongs to
  --token-stdin         read the token from stdin, e.g. \`pass tg/bot | agentd bots add ...\`
                        (it stays out of the process list and the shell history)
  --token <token>       the token as an argument (visible to other users of this machine: prefer
                        --token-stdin or AGENTD_BOT_TOKEN)
  --mode <mode>         webhook (needs AGENTD_PUBLIC_URL) or polling; default: webhook when
                        AGENTD_PUBLIC_URL is set, else polling
${DATA}

Opens the store directly: no running agentd needed; a running one picks the change up by itself
(a polling-mode bot within TELEGRAM_BOTS_RESCAN_MS). The same is offered over HTTP:
POST, GET /v1/channels/telegram and DELETE /v1/channels/telegram/<botId>.

Environment:
${envHelp(["store", "AGENTD_BOT_TOKEN", "AGENTD_PUBLIC_URL", "TELEGRAM_API_ROOT"])}
`,

  runs: `Usage: agentd runs [--tenant <id>] [--status <status>] [--limit <n>]
       agentd runs show <runId>
       agentd runs retry <runId>
       agentd runs cancel <runId>

  (no subcommand)       the newest runs: id, workflow, status, tenant, created, and a note (the
                        error of a failed run, what a suspended one waits for)
  show <runId>          one run and its journal (one line per step, sleep, event, child),
                        with the tenant's secrets redacted
  retry <runId>         resume a failed run from its last checkpoint
  cancel <runId>        cancel a run and its unfinished child runs

Options:
  --tenant <id>         only this tenant's runs
  --status <status>     only runs in this status: pending, running, suspended, completed, failed,
                        cancelled
  --limit <n>           how many (default 50)
${DATA}

Opens the store directly: no running agentd needed.

Environment:
${STORE_ENV}
`,

  schedules: `Usage: agentd schedules [--tenant <id>]

Lists the schedules (recurring jobs, heartbeats) and the pending one-off reminders: id, tenant,
when (cron and time zone, or "once"), the next fire time (or "paused"), and what it does.

Options:
  --tenant <id>         only this tenant's schedules
${DATA}

Opens the store directly: no running agentd needed.

Environment:
${STORE_ENV}
`,

  migrate: `Usage: agentd migrate [--data <dir>]

Applies the migrations the database lacks (the kernel's store and the OS data) and reports the
schema versions before and after. \`agentd start\` does the same on start; run this to upgrade
ahead of time, e.g. once before rolling out a new version to a cluster.

Options:
${DATA}

Environment:
${STORE_ENV}
`,

  vault: `Usage: agentd vault rotate [<newKey>]

Rotates the vault's master key: writes a new key ahead of the old one in <data>/master.key,
re-encrypts every secret under it (progress shown), then retires the old key. Running agentd
processes pick up the new key by themselves. Safe to run again if interrupted.

With AGENTD_MASTER_KEY set there is no file to rewrite: given <newKey> (32 bytes as base64 or hex)
it re-encrypts every secret under that key, and with AGENTD_MASTER_KEY_PREVIOUS it finishes a
rotation; with neither it prints the steps of a rotation without downtime.

Options:
${DATA}

Environment:
${envHelp(["store", "vault"])}
`,
};

HELP.settings = `Every setting agentd reads from its environment, checked at start: a wrong value stops it
with a sentence naming the variable. Empty counts as unset. \`agentd doctor\` lists those set.

${ALL_SERVER}
${envHelp(["client"])}
`;

/** The help of a command, falling back to the overview. */
export function helpOf(command: string): string {
  return HELP[command] ?? (HELP.agentd as string);
}
