// `agentd tenants`.
import { DATA, JSON_LINE, STORE_ENV } from "./common.ts";

export const TENANTS_HELP = `Usage: agentd tenants [list] [--json]
       agentd tenants create <name>
       agentd tenants show <tenantId> [--json]
       agentd tenants rename <tenantId> <name>
       agentd tenants settings <tenantId> [name=value]... [--json]
       agentd tenants delete <tenantId> --yes
       agentd tenants key <tenantId> | keys <tenantId> [--json] | revoke <tenantId> <keyId>
       agentd tenants pair <tenantId>
       agentd tenants identities <tenantId> [--json]
       agentd tenants bind <tenantId> <channel> <externalId> [--display <name>] [--force]
       agentd tenants unbind <tenantId> <channel> <externalId>

  list                  the tenants: id, name, created (the default)
  create <name>         a new tenant; prints its id
  show <tenantId>       its name, creation time and settings
  rename <tenantId> <name>
  settings <tenantId>   its settings; with name=value pairs, changes those (a value that reads as JSON
                        is taken as JSON: runsPerMinute=30, heartbeat=null, tools='["web_fetch"]';
                        else as text: timezone=Europe/Paris), checked as the API checks them
  delete <tenantId>     removes the tenant with its sessions, memory, secrets, schedules and runs
                        (its schedules removed and unfinished runs cancelled first, with progress on
                        stderr); cannot be undone, hence --yes
  key <tenantId>        a new API key for the tenant (shown once: only its hash is stored)
  keys <tenantId>       its API keys: id, prefix, created, revoked (never a key itself)
  revoke <tenantId> <keyId>
                        the key stops working at once (and the dashboard sessions signed in with it)
  pair <tenantId>       a one-time pairing code: a person sends "/start CODE" from a channel to be
                        bound to the tenant (valid 24 hours)
  identities <tenantId> the people bound to it: channel, id there, name, since when
  bind <tenantId> <channel> <externalId>
                        binds a person without a pairing code (--force moves one bound elsewhere)
  unbind <tenantId> <channel> <externalId>

Options:
  --yes                 delete: go ahead
${JSON_LINE}
${DATA}

Opens the store directly (no running agentd needed) and does what the API does, through the same
routes: the same checks, the same errors. Times are printed with their zone.

Environment:
${STORE_ENV}
`;
