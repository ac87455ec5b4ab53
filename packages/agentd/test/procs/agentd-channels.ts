/**
 * `agentd start` for the channel crash tests (Twilio, Telegram, WhatsApp), with kill points the test switches on with a marker
 * file: `kill-after-persist` SIGKILLs the process inside the webhook, after the inbound message is
 * persisted and its turn started, before the 200 goes back to Twilio; `kill-after-transcript`, once a
 * voice note's transcript is kept (paid for) and before its message is stored. (Kills inside a media download
 * or a Messages API call need no hook: the Twilio stand-in does them from the test.)
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { main } from "../../src/cli/index.ts";
import { mediaTexts } from "../../src/media/texts.ts";
import { Inbox } from "../../src/sessions/inbox.ts";

const dir = process.env.CRASH_DIR as string;
const fromIdentity = Inbox.prototype.fromIdentity;
Inbox.prototype.fromIdentity = async function (this: Inbox, m) {
  const outcome = await fromIdentity.call(this, m);
  const marker = join(dir, "kill-after-persist");
  if (existsSync(marker)) {
    rmSync(marker);
    process.kill(process.pid, "SIGKILL");
  }
  return outcome;
};
const put = mediaTexts.put;
mediaTexts.put = async (...args) => {
  await put(...args);
  const marker = join(dir, "kill-after-transcript");
  if (existsSync(marker)) {
    rmSync(marker);
    process.kill(process.pid, "SIGKILL");
  }
};
process.exit(await main(process.argv.slice(2)));
