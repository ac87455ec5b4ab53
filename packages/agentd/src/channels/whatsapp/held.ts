import type { Agentd } from "../../app.ts";
import type { TenantScope } from "../../tenancy/scope.ts";
import { takeHeldDeliveries } from "../held.ts";
import { messagesOf } from "./messages.ts";
import type { WhatsAppSend } from "./send.ts";

/** Sends what was held for the 24-hour window (see ../held.ts) once the person has written again. */
export async function sendHeld(app: Agentd, send: WhatsAppSend, scope: TenantScope, channel: string, conversation: string, log: (m: string) => void): Promise<void> {
  for (const d of await takeHeldDeliveries(app, scope, channel, conversation)) {
    await send(scope, conversation, messagesOf(d), d.key);
    log(`${d.key} held for the 24-hour window was sent to ${conversation}`);
  }
}
