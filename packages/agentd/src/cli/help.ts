// The --help text of every command, one file per command in help/. Each says what the command does,
// its arguments and options, and the settings it reads, so `agentd <command> --help` is enough to use it.
// The settings' lines are drawn from their one schema (config/variables.ts). A new command adds its
// file, a line in the map below and a line in the overview (help/overview.ts).
import { OVERVIEW_HELP, SETTINGS_HELP } from "./help/overview.ts";
import { SERVE_HELP, START_HELP, WORKER_HELP } from "./help/roles.ts";
import { CHAT_HELP } from "./help/chat.ts";
import { DOCTOR_HELP } from "./help/doctor.ts";
import { TENANTS_HELP } from "./help/tenants.ts";
import { BOTS_HELP } from "./help/bots.ts";
import { MCP_HELP } from "./help/mcp.ts";
import { CONNECTIONS_HELP } from "./help/connections.ts";
import { COMPOSIO_HELP } from "./help/composio.ts";
import { RUNS_HELP } from "./help/runs.ts";
import { SCHEDULES_HELP } from "./help/schedules.ts";
import { APPROVALS_HELP, MEMORY_HELP, POLICIES_HELP, SECRETS_HELP } from "./help/tenant-data.ts";
import { RELAY_HELP, SSH_HELP } from "./help/ssh.ts";
import { MIGRATE_HELP } from "./help/migrate.ts";
import { VAULT_HELP } from "./help/vault.ts";
import { WEBHOOKS_HELP } from "./help/webhooks.ts";
import { BLOBS_HELP, SESSIONS_HELP, USAGE_HELP, WORKERS_HELP } from "./help/sessions.ts";
import { WEB_HELP } from "./help/web.ts";

export const HELP: Record<string, string> = {
  agentd: OVERVIEW_HELP,
  start: START_HELP,
  serve: SERVE_HELP,
  worker: WORKER_HELP,
  chat: CHAT_HELP,
  doctor: DOCTOR_HELP,
  tenants: TENANTS_HELP,
  bots: BOTS_HELP,
  mcp: MCP_HELP,
  connections: CONNECTIONS_HELP,
  composio: COMPOSIO_HELP,
  runs: RUNS_HELP,
  sessions: SESSIONS_HELP,
  blobs: BLOBS_HELP,
  usage: USAGE_HELP,
  web: WEB_HELP,
  workers: WORKERS_HELP,
  schedules: SCHEDULES_HELP,
  memory: MEMORY_HELP,
  secrets: SECRETS_HELP,
  policies: POLICIES_HELP,
  approvals: APPROVALS_HELP,
  webhooks: WEBHOOKS_HELP,
  ssh: SSH_HELP,
  relay: RELAY_HELP,
  migrate: MIGRATE_HELP,
  vault: VAULT_HELP,
  settings: SETTINGS_HELP,
};

/** The help of a command, falling back to the overview. */
export function helpOf(command: string): string {
  return HELP[command] ?? (HELP.agentd as string);
}
