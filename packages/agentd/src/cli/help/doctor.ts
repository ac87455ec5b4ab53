// `agentd doctor`.
import { DATA } from "./common.ts";

export const DOCTOR_HELP = `Usage: agentd doctor [--data <dir>]

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
`;
