import type { ClientMessage } from "whatsapp-api-js/types";
import { approvals } from "../../agent/approvals.ts";
import type { Agentd } from "../../app.ts";
import type { TenantScope } from "../../tenancy/scope.ts";
import { outbox } from "../outbox.ts";
import { messagesOf } from "./messages.ts";
import type { WhatsAppSend } from "./send.ts";

/**
 * WhatsApp refuses free-form messages more than 24 hours after the person's last one (131047, at
 * once or later in a status report). Such parts are `held` in the outbox; when the person writes
 * again, the window is open: each held delivery is rebuilt from what agentd stored (a reply from the
 * session's history, an approval request from its approval while it is still pending) and sent, its
 * parts already delivered skipped. The outbox keeps no message bodies, so nothing else is held.
 */
export async function sendHeld(app: Agentd, send: WhatsAppSend, scope: TenantScope, channel: string, conversation: string, log: (m: string) => void): Promise<void> {
  const now = app.kernel.clock.now();
  const taken = await outbox.takeHeld(scope, channel, conversation, now);
  const keys = [...new Set(taken.map((t) => t.key))];
  for (const key of keys) {
    const messages = await rebuild(app, scope, key);
    if (!messages) {
      for (const t of taken.filter((x) => x.key === key)) await outbox.mark(scope, key, t.part, "canceled", now, null, "no longer to be sent");
      continue;
    }
    await send(scope, conversation, messages, key);
    log(`${key} held for the 24-hour window was sent to ${conversation}`);
  }
}

async function rebuild(app: Agentd, scope: TenantScope, key: string): Promise<ClientMessage[] | null> {
  if (key.startsWith("reply:")) {
    const m = await scope.get<{ content: string }>("SELECT content FROM os_messages WHERE tenant_id = $tenant AND source_key = ? AND role = 'assistant'", [key]);
    return m ? messagesOf({ kind: "reply", text: m.content }) : null;
  }
  if (key.startsWith("approval:")) {
    const a = await approvals.get(scope, key.slice("approval:".length));
    if (!a || a.status !== "pending" || a.expiresAt <= app.kernel.clock.now()) return null; // decided or expired meanwhile: nothing to ask
    return messagesOf({ kind: "approval", text: "", approval: { id: a.id, code: a.code, tool: a.tool, subject: a.subject } });
  }
  return null;
}
