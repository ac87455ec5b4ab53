import { approvals } from "../agent/approvals.ts";
import type { ChannelHost, Delivery } from "./ports.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { outbox } from "./outbox.ts";

/** What a held delivery is sent as again: its key and what to send. */
export type HeldDelivery = { key: string } & Pick<Delivery, "kind" | "text" | "approval">;

/**
 * WhatsApp refuses free-form messages more than 24 hours after the person's last one (Cloud API
 * 131047, Twilio 63016; at once or later in a status report). Such parts are `held` in the outbox.
 * When the person writes again the window is open: this takes the conversation's held parts (each
 * to one process) and rebuilds each delivery from what agentd stored (a reply from the session's
 * history, an approval request from its approval while it is still pending), oldest first, for the
 * channel to send again; its parts already delivered are skipped by the channel's outbox. The outbox
 * keeps no message bodies, so nothing else is held: anything that cannot be rebuilt is canceled.
 */
export async function takeHeldDeliveries(
  now: () => number,
  scope: TenantScope,
  channel: string,
  conversation: string,
): Promise<HeldDelivery[]> {
  const at = now();
  const taken = await outbox.takeHeld(scope, channel, conversation, at);
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
    const m = await scope.get<{ content: string }>(
      "SELECT content FROM os_messages WHERE tenant_id = $tenant AND source_key = ? AND role = 'assistant'",
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

/**
 * In the background, once the person has written again: each held delivery is sent through the
 * channel's own `send` (which skips parts already delivered). A failure leaves the rest to the next
 * message (the parts taken stay `unsent` and are sent with their delivery's next send).
 */
export function sendHeld(
  host: Pick<ChannelHost, "tenants" | "now">,
  tenantId: string,
  channel: string,
  conversation: string,
  send: (d: HeldDelivery) => Promise<void>,
  log: (m: string) => void,
): void {
  void (async () => {
    for (const d of await takeHeldDeliveries(host.now, host.tenants.scope(tenantId), channel, conversation)) {
      await send(d);
      log(`${d.key} held for WhatsApp's 24-hour window was sent to ${conversation}`);
    }
  })().catch((e: unknown) =>
    log(`held messages to ${conversation} not sent yet: ${e instanceof Error ? e.message : String(e)}`),
  );
}
