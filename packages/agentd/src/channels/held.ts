import { randomUUID } from "node:crypto";
import { approvals } from "../agent/approvals.ts";
import type { HeldDelivery } from "./ports.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { outbox } from "./outbox.ts";

/**
 * WhatsApp refuses free-form messages more than 24 hours after the person's last one (Cloud API
 * 131047, Twilio 63016; at once or later in a status report). Such parts are `held` in the outbox.
 * When the person writes again the window is open: this takes the conversation's held parts (each
 * to one process) and rebuilds each delivery from what agentd stored (a reply from the session's
 * history, an approval request from its approval while it is still pending), oldest first, for the
 * channel to send again; its parts already delivered are skipped by the channel's outbox. The outbox
 * keeps no message bodies, so nothing else is held: anything that cannot be rebuilt is canceled.
 * `taker` names who takes them: the same taker asking again gets the same parts (a retried step).
 */
export async function takeHeldDeliveries(
  now: () => number,
  scope: TenantScope,
  channel: string,
  conversation: string,
  taker: { by: string; again: boolean } = { by: randomUUID(), again: false },
): Promise<HeldDelivery[]> {
  const at = now();
  const taken = await outbox.takeHeld(scope, channel, conversation, at, taker);
  const out: HeldDelivery[] = [];
  for (const key of new Set(taken.map((t) => t.key))) {
    const d = await rebuild(now, scope, key);
    if (d) out.push(d);
    else
      for (const t of taken.filter((x) => x.key === key))
        await outbox.mark(scope, key, t.part, "canceled", at, null, "no longer to be sent");
  }
  return out;
}

async function rebuild(now: () => number, scope: TenantScope, key: string): Promise<HeldDelivery | null> {
  if (key.startsWith("reply:")) {
    // A message is found by (session, source key): looked up in each of the tenant's sessions, not among all its messages.
    const m = await scope.get<{ content: string }>(
      `SELECT content FROM os_messages WHERE session_id IN (SELECT id FROM os_sessions WHERE tenant_id = $tenant)
       AND source_key = ? AND role = 'assistant'`,
      [key],
    );
    return m ? { key, kind: "reply", text: m.content } : null;
  }
  if (key.startsWith("approval:")) {
    const a = await approvals.get(scope, key.slice("approval:".length));
    if (a?.status !== "pending" || a.expiresAt <= now()) return null; // decided or expired meanwhile: nothing to ask
    return { key, kind: "approval", text: "", approval: { id: a.id, code: a.code, tool: a.tool, subject: a.subject } };
  }
  return null;
}
