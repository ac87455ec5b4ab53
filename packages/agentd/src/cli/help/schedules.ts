// `agentd schedules`.
import { DATA, JSON_LINE, STORE_ENV } from "./common.ts";

export const SCHEDULES_HELP = `Usage: agentd schedules [list] [--tenant <id>] [--json]
       agentd schedules add --tenant <id> --at <time> <prompt>... [--session <id>] [--json]
       agentd schedules add --tenant <id> --cron <expr> [--timezone <zone>] <prompt>... [--session <id>] [--json]
       agentd schedules ticks <scheduleId> [--tenant <id>] [--limit <n>] [--json]
       agentd schedules pause|resume|delete <scheduleId> [--tenant <id>]

  list                  the schedules (recurring jobs, heartbeats) and the pending one-off reminders:
                        id, tenant, when (cron and time zone, or "once"), the next fire time in the
                        job's own zone (or "paused"), and what it does (the default)
  add --at <time>       a one-off reminder: the agent is given the prompt then, in the session
                        (--session, else the tenant's latest); the time with its UTC offset,
                        e.g. 2026-05-01T09:00:00+02:00 or 2026-05-01T07:00:00Z
  add --cron <expr>     a recurring job (5 fields, or 6 with seconds) in --timezone (an IANA zone;
                        default: the tenant's timezone setting)
  ticks <id>            a recurring job's latest ticks: started (its run), queued or skipped (why)
  pause <id>            a recurring job stops firing until resumed (job:<id> or <id>, as listed)
  resume <id>           it fires again from its next time
  delete <id>           a recurring job or a reminder, for good

Options:
  --tenant <id>         list: only this tenant's; add: the tenant; ticks, pause, resume, delete: the
                        job's tenant (read from the store when not given)
  --limit <n>           ticks: how many (default 50)
${JSON_LINE}
${DATA}

Opens the store directly: no running agentd needed; add, ticks, pause, resume and delete go through
the API's routes in this process (POST /v1/schedules, GET /v1/schedules/<id>/ticks,
POST /v1/schedules/<id>/pause, /resume, DELETE /v1/schedules/<id>). Times are printed with their zone.

Environment:
${STORE_ENV}
`;
