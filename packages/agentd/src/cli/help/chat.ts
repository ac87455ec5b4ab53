// `agentd chat`.
import { envHelp } from "../../config/docs.ts";
import { DATA } from "./common.ts";

export const CHAT_HELP = `Usage: agentd chat [--tenant <id>] [--conversation <name>] [--url <url>] [--data <dir>]

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
`;
