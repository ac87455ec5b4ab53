// `agentd bots`.
import { envHelp } from "../../config/docs.ts";
import { DATA, JSON_LINE } from "./common.ts";

export const BOTS_HELP = `Usage: agentd bots [list] [--tenant <id>] [--json]
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
${JSON_LINE}
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
`;
