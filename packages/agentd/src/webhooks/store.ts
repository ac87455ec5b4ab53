import { newId } from "../ids.ts";
import { notFound } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { WebhookEvent } from "./events.ts";

export interface Webhook {
  id: string;
  url: string;
  events: WebhookEvent[];
  createdAt: number;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

/** One event sent to one webhook: its attempts and how the last one went. */
export interface Delivery {
  /** The `webhook-id` of every attempt: the same on retries, so a receiver drops repeats. */
  id: string;
  webhookId: string;
  event: WebhookEvent;
  payload: unknown;
  status: DeliveryStatus;
  attempts: number;
  /** The HTTP status of the last attempt (null: no answer). */
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

interface HookRow {
  id: string;
  url: string;
  events: string;
  created_at: number;
}
interface DeliveryRow {
  id: string;
  webhook_id: string;
  event: WebhookEvent;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

const toHook = (r: HookRow): Webhook => ({
  id: r.id,
  url: r.url,
  events: JSON.parse(r.events) as WebhookEvent[],
  createdAt: Number(r.created_at),
});
const toDelivery = (r: DeliveryRow): Delivery => ({
  id: r.id,
  webhookId: r.webhook_id,
  event: r.event,
  payload: JSON.parse(r.payload) as unknown,
  status: r.status,
  attempts: Number(r.attempts),
  lastStatus: r.last_status === null ? null : Number(r.last_status),
  lastError: r.last_error,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/**
 * A tenant's webhooks as one JSON value (Postgres), for a statement that reads them along with its own
 * work (a turn's reply: `listedAlong` makes them `Webhook`s again).
 */
export const LIST_ALONG = `SELECT coalesce(json_agg(json_build_object('id', id, 'url', url, 'events', events, 'created_at', created_at)
  ORDER BY created_at, id), '[]'::json) FROM os_webhooks WHERE tenant_id = $tenant`;

export const listedAlong = (v: unknown): Webhook[] => (v as HookRow[]).map(toHook);

/** A tenant's webhooks and their deliveries (os_webhooks, os_webhook_deliveries); signing secrets live in the vault. */
export const webhooks = {
  async add(scope: TenantScope, url: string, events: WebhookEvent[], now: number): Promise<Webhook> {
    const id = newId("whk", now);
    await scope.run("INSERT INTO os_webhooks (id, tenant_id, url, events, created_at) VALUES (?, $tenant, ?, ?, ?)", [
      id,
      url,
      JSON.stringify(events),
      now,
    ]);
    return { id, url, events, createdAt: now };
  },

  async list(scope: TenantScope): Promise<Webhook[]> {
    const rows = await scope.all<HookRow>(
      "SELECT id, url, events, created_at FROM os_webhooks WHERE tenant_id = $tenant ORDER BY created_at, id",
    );
    return rows.map(toHook);
  },

  async get(scope: TenantScope, id: string): Promise<Webhook | null> {
    const r = await scope.get<HookRow>(
      "SELECT id, url, events, created_at FROM os_webhooks WHERE tenant_id = $tenant AND id = ?",
      [id],
    );
    return r ? toHook(r) : null;
  },

  async require(scope: TenantScope, id: string): Promise<Webhook> {
    const w = await this.get(scope, id);
    if (!w) throw notFound(`webhook ${id} (GET /v1/webhooks lists this tenant's)`);
    return w;
  },

  async remove(scope: TenantScope, id: string): Promise<boolean> {
    await scope.run("DELETE FROM os_webhook_deliveries WHERE tenant_id = $tenant AND webhook_id = ?", [id]);
    return (await scope.run("DELETE FROM os_webhooks WHERE tenant_id = $tenant AND id = ?", [id])).changes > 0;
  },

  /** Records a delivery once: the same id again (a replayed step) changes nothing. True when it is new. */
  async enqueue(
    scope: TenantScope,
    d: { id: string; webhookId: string; event: WebhookEvent; payload: unknown },
    now: number,
  ): Promise<boolean> {
    const r = await scope.run(
      "INSERT INTO os_webhook_deliveries (id, tenant_id, webhook_id, event, payload, status, attempts, created_at, updated_at) VALUES (?, $tenant, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT DO NOTHING",
      [d.id, d.webhookId, d.event, JSON.stringify(d.payload), now, now],
    );
    return r.changes > 0;
  },

  async delivery(scope: TenantScope, id: string): Promise<Delivery | null> {
    const r = await scope.get<DeliveryRow>("SELECT * FROM os_webhook_deliveries WHERE tenant_id = $tenant AND id = ?", [
      id,
    ]);
    return r ? toDelivery(r) : null;
  },

  async deliveries(scope: TenantScope, webhookId: string, limit: number): Promise<Delivery[]> {
    const rows = await scope.all<DeliveryRow>(
      "SELECT * FROM os_webhook_deliveries WHERE tenant_id = $tenant AND webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
      [webhookId, limit],
    );
    return rows.map(toDelivery);
  },

  /** An attempt's outcome: counted, and the delivery settled when it succeeded or was the last. */
  async attempted(
    scope: TenantScope,
    id: string,
    o: { status: DeliveryStatus; httpStatus: number | null; error: string | null },
    now: number,
  ): Promise<void> {
    await scope.run(
      "UPDATE os_webhook_deliveries SET attempts = attempts + 1, status = ?, last_status = ?, last_error = ?, updated_at = ? WHERE tenant_id = $tenant AND id = ?",
      [o.status, o.httpStatus, o.error, now, id],
    );
  },

  async settle(scope: TenantScope, id: string, status: DeliveryStatus, now: number): Promise<void> {
    await scope.run(
      "UPDATE os_webhook_deliveries SET status = ?, updated_at = ? WHERE tenant_id = $tenant AND id = ?",
      [status, now, id],
    );
  },
};
