// The server roles: start (all in one), serve (API only), worker (runs only).
import { envHelp } from "../../config/docs.ts";
import { ALL_SERVER, DATA } from "./common.ts";

export const START_HELP = `Usage: agentd start [--data <dir>]

Runs agentd in one process: opens the store (applying migrations), starts the worker that executes
runs and fires schedules, and serves the HTTP API with the dashboard at / (sign in with the admin
token or a tenant's API key). Prints one line when ready; stops cleanly on
Ctrl-C (SIGINT) or SIGTERM. Without a model configured it still starts, and says how to set one.
Several \`agentd start\` processes can share one Postgres database.

Options:
${DATA}

Environment:
${ALL_SERVER}
`;

export const SERVE_HELP = `Usage: agentd serve [--data <dir>]

Serves the HTTP API (and the dashboard at /) without executing runs: messages are accepted and turns started, and
\`agentd worker\` processes sharing the same database execute them. For a cluster on Postgres;
on one machine \`agentd start\` does both. Stops cleanly on SIGINT or SIGTERM.

Options:
${DATA}

Environment:
${envHelp(["store", "server", "vault"])}
  (the model settings of \`agentd start --help\` matter to workers, not to this role)
`;

export const WORKER_HELP = `Usage: agentd worker [--data <dir>]

Executes runs (agent turns, reminders, schedules) without serving the API: the split role for a
cluster on Postgres, beside \`agentd serve\` processes. Stops cleanly on SIGINT or SIGTERM, leaving
unfinished runs to the other workers.

Options:
${DATA}

Environment:
${envHelp(["store", "model", "agent", "web tools", "media", "mcp", "connections", "vault", "telegram", "twilio", "whatsapp"])}
  (every process of a cluster needs the same AGENTD_MASTER_KEY)
`;
