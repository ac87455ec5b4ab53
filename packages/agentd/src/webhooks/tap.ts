import type { Deliveries, Delivery } from "../channels/ports.ts";
import type { WebhookEvent } from "./events.ts";
import type { Webhook } from "./store.ts";

/** Where events go (Webhooks.emit); `listed`: the tenant's webhooks when the caller has just read them. */
export interface Emitter {
  emit(tenantId: string, event: WebhookEvent, key: string, payload: unknown, listed?: Webhook[]): Promise<number>;
}

/** Webhooks a delivery's sender read in the statement that stored what it delivers: no second read. */
const readWith = new WeakMap<Delivery, Webhook[]>();

/**
 * The delivery, with the tenant's webhooks as the statement that stored its reply read them (one
 * snapshot: the hooks that existed when the turn finished are told). Meant for a delivery made right
 * after that statement; a retried or replayed one is sent plain and reads them afresh.
 */
export function withListedHooks(d: Delivery, hooks: Webhook[]): Delivery {
  readWith.set(d, hooks);
  return d;
}

/**
 * The agent's deliveries, with the tenant's webhooks told of each reply (turn.finished) and each
 * approval asked (approval.needed). Inside the turn's own step: a replayed or retried step records
 * nothing twice (the events are keyed by the delivery's key), and one that fails is retried.
 */
export function withWebhooks(inner: Deliveries, hooks: Emitter): Deliveries {
  return {
    live: (t) => inner.live(t),
    async deliver(d: Delivery) {
      await inner.deliver(d);
      const where = { sessionId: d.session.id, channel: d.session.channel, conversation: d.session.conversation };
      if (d.kind === "reply")
        await hooks.emit(
          d.tenantId,
          "turn.finished",
          d.key,
          {
            ...where,
            runId: d.runId ?? null,
            text: d.text,
            ...(d.files?.length ? { files: d.files.map((f) => f.id) } : {}),
          },
          readWith.get(d),
        );
      else if (d.kind === "approval" && d.approval)
        await hooks.emit(d.tenantId, "approval.needed", d.key, {
          ...where,
          runId: d.runId ?? null,
          approvalId: d.approval.id,
          code: d.approval.code,
          tool: d.approval.tool,
          subject: d.approval.subject,
          decide: `POST /v1/approvals/${d.approval.id} with {"decision": "once" | "always" | "deny"}`,
        });
    },
  };
}
