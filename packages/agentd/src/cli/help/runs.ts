// `agentd runs`.
import { DATA, JSON_LINE, STORE_ENV } from "./common.ts";

export const RUNS_HELP = `Usage: agentd runs [--tenant <id>] [--status <status>] [--limit <n>] [--json]
       agentd runs show <runId> [--json]
       agentd runs follow <runId> [--after <offset>] [--json]
       agentd runs retry <runId>
       agentd runs cancel <runId>

  (no subcommand)       the newest runs: id, workflow, status, tenant, created, and a note (the
                        error of a failed run, what a suspended one waits for)
  show <runId>          one run and its journal (one line per step, sleep, event, child),
                        with the tenant's secrets redacted
  follow <runId>        its stream (GET /v1/runs/<id>/stream) from the start, or after --after: the
                        model's text on stdout as it comes, tools, approvals and waits on stderr,
                        until the run answers or ends (exit code 1 if it failed or was cancelled)
  retry <runId>         resume a failed run from its last checkpoint
  cancel <runId>        cancel a run and its unfinished child runs

Options:
  --tenant <id>         only this tenant's runs
  --status <status>     only runs in this status: pending, running, suspended, completed, failed,
                        cancelled
  --limit <n>           how many (default 50)
  --after <offset>      follow: resume after this stream offset (an event's id)
${JSON_LINE}; show: the run and its journal; follow: each event a JSON line
${DATA}

Opens the store directly: no running agentd needed.

Environment:
${STORE_ENV}
`;
