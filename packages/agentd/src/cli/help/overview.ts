// The overview of every command, and every setting.
import { envHelp } from "../../config/docs.ts";
import { ALL_SERVER, DATA } from "./common.ts";

export const OVERVIEW_HELP = `agentd: a self-hostable, multi-tenant agentic operating system on a durable-execution kernel

Usage: agentd [command] [options]

Commands:
  start                 everything in one process: store, worker, scheduler, HTTP API and dashboard (default)
  serve                 the HTTP API and dashboard only (split role for a cluster on Postgres)
  worker                the worker and scheduler only (split role for a cluster on Postgres)
  chat                  talk to the agent in the terminal, replies streamed token by token
  doctor                check the store, master key, model endpoint, channels and admin token
  tenants               tenants: list, create, show, rename, settings, delete; API keys, pairing
                        codes, bound identities
  bots                  add, list and remove tenants' own Telegram bots
  mcp                   add, list, test, enable, disable and remove tenants' MCP servers
  connections           tenants' OAuth connections: list, connect (a link), test, remove; their
                        own OAuth apps: apps, apps add, apps remove
  composio              tenants' Composio accounts: list, connect (a Connect Link), remove
  runs                  list runs, show one's journal, follow its stream, retry or cancel one
  sessions              a tenant's conversations: list, show the messages, follow them as they come
  schedules             list schedules with their next fire times; add, ticks, pause, resume, delete
  memory                a tenant's long-term memory: list, search, add, delete
  secrets               a tenant's vault: list names, set (value on stdin), delete
  policies              allow / ask / deny per tool (and subject pattern) for a tenant
  webhooks              a tenant's signed outgoing webhooks and their deliveries
  web                   a tenant's search provider and browser profile: show, forget
  approvals             tool calls waiting for a person: list, decide
  blobs                 a tenant's files: list, upload, get
  usage                 a tenant's tokens and model calls per day, and today's budget left
  workers               the live workers on this store and what each runs
  migrate               apply the database migrations and report the schema versions
  vault rotate          re-encrypt every secret under a new master key
  ssh                   a tenant's SSH hosts (pinned host keys) and keys: hosts add|list|confirm|remove, key
  relay                 the far end of SSH over HTTPS: WebSocket tunnels to 127.0.0.1:22 only

Options (every command):
${DATA}
  -v, --version         print the version

Run \`agentd <command> --help\` for a command's arguments and settings. Listings take --json.

Exit codes: 0 done; 1 failed (one line on stderr says why); 2 a usage mistake (the help follows);
3 what was named (a tenant, run, schedule, secret…) does not exist; 4 no agentd answers at the URL.

Environment:
${envHelp(["store", "server", "model"])}
  (every setting: \`agentd help settings\`)
`;

export const SETTINGS_HELP = `Every setting agentd reads from its environment, checked at start: a wrong value stops it
with a sentence naming the variable. Empty counts as unset. \`agentd doctor\` lists those set.

${ALL_SERVER}
${envHelp(["serverless", "client"])}
`;
