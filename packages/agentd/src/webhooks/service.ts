import { createHash } from "node:crypto";
import { type Kernel, type Workflow, workflow } from "@agentd/kernel";
import type { Deliveries } from "../channels/ports.ts";
import { badRequest } from "../errors.ts";
import { checkUrl, guardedFetch } from "../net/guard.ts";
import type { NetPolicy } from "../net/policy.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { createRedactor } from "../vault/redact.ts";
import type { Vault } from "../vault/vault.ts";
import type { WebhookEvent } from "./events.ts";
import { newSecret, signedHeaders } from "./sign.ts";
import { withWebhooks } from "./tap.ts";
import { type Delivery, type Webhook, webhooks } from "./store.ts";

/** What webhooks need (agentd has it all): tenants' data, the vault (signing secrets, redaction), the kernel (durable delivery), the network rule. */
export interface WebhooksDeps {
  tenants: { scope(tenantId: string): TenantScope };
  vault: Pick<Vault, "get" | "put" | "delete" | "values">;
  kernel: Kernel;
  config: { net: NetPolicy };
}

export const DELIVER_WORKFLOW = "webhook.deliver";
export const FAILED_RUNS_WORKFLOW = "webhook.failed-runs";
/** Attempts of a delivery, over about two hours: 10 s, 30 s, 90 s, 4.5 min, 13.5 min, 40 min, 1 h. */
export const DELIVERY_RETRY = {
  maxAttempts: 8,
  initialInterval: "10s",
  backoffFactor: 3,
  maxInterval: "1h",
  jitter: 0,
};
/** Webhooks per tenant. */
export const MAX_WEBHOOKS = 20;
const secretName = (id: string) => `sys.webhook.${id}`;
const sweepId = (tenantId: string) => `webhooks:failed-runs:${tenantId}`;

interface DeliverInput {
  tenantId: string;
  deliveryId: string;
}

/**
 * A tenant's outgoing webhooks: events recorded once per (webhook, event) and delivered by a kernel
 * run each, retried with backoff on the kernel's clock, so a crash or a receiver that is down loses
 * nothing; each attempt signed afresh (Standard Webhooks, sign.ts) with the same `webhook-id`.
 */
export class Webhooks {
  readonly #d: WebhooksDeps;
  readonly #now: () => number;
  readonly deliver: Workflow<DeliverInput, { status: string }>;
  readonly failedRuns: Workflow<{ tenantId: string }, { sent: number }>;

  constructor(deps: WebhooksDeps, now: () => number) {
    this.#d = deps;
    this.#now = now;
    this.deliver = workflow<DeliverInput, { status: string }>(DELIVER_WORKFLOW, async (ctx, input) => {
      try {
        return await ctx.step("post", (step) => this.#attempt(input, step.attempt), {
          retry: DELIVERY_RETRY,
          timeout: "1m",
        });
      } catch {
        await ctx.step("give-up", () =>
          webhooks.settle(this.#scope(input.tenantId), input.deliveryId, "failed", this.#now()),
        );
        return { status: "failed" };
      }
    });
    this.failedRuns = workflow<{ tenantId: string }, { sent: number }>(FAILED_RUNS_WORKFLOW, async (ctx, input) =>
      ctx.step("sweep", () => this.#sweepFailed(input.tenantId)),
    );
    // Registered at once: every process that executes runs makes a Webhooks with its kernel.
    for (const w of [this.deliver, this.failedRuns]) deps.kernel.registry.add(w as Workflow<never, unknown>);
  }

  /** The agent's deliveries, with this tenant's webhooks told (tap.ts). */
  tap(inner: Deliveries): Deliveries {
    return withWebhooks(inner, this);
  }

  #scope(tenantId: string): TenantScope {
    return this.#d.tenants.scope(tenantId);
  }

  /** Adds a webhook; the answer holds its signing secret, shown this once (the vault keeps it). */
  async add(tenantId: string, url: string, events: WebhookEvent[]): Promise<{ webhook: Webhook; secret: string }> {
    const scope = this.#scope(tenantId);
    await checkUrl(url, this.#d.config.net).catch((e: unknown) => {
      throw badRequest(`the webhook's URL cannot be used: ${e instanceof Error ? e.message : String(e)}`);
    });
    if ((await webhooks.list(scope)).length >= MAX_WEBHOOKS)
      throw badRequest(`a tenant has ${MAX_WEBHOOKS} webhooks at most: remove one first (DELETE /v1/webhooks/<id>)`);
    const webhook = await webhooks.add(scope, url, events, this.#now());
    const secret = newSecret();
    await this.#d.vault.put(scope, secretName(webhook.id), secret);
    await this.#syncSweep(tenantId);
    return { webhook, secret };
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    const scope = this.#scope(tenantId);
    const removed = await webhooks.remove(scope, id);
    if (removed) await this.#d.vault.delete(scope, secretName(id)).catch(() => {});
    await this.#syncSweep(tenantId);
    return removed;
  }

  /**
   * Records `event` for each of the tenant's webhooks that wants it and starts its delivery. `key`
   * names the event (the same key again, as a replayed step sends it, records nothing new).
   * `listed`: the tenant's webhooks, when the caller read them just now (tap.ts).
   */
  async emit(
    tenantId: string,
    event: WebhookEvent,
    key: string,
    payload: unknown,
    listed?: Webhook[],
  ): Promise<number> {
    const scope = this.#scope(tenantId);
    const hooks = (listed ?? (await webhooks.list(scope))).filter((h) => h.events.includes(event));
    if (hooks.length === 0) return 0;
    const data = createRedactor(await this.#d.vault.values(scope)).deep(payload);
    for (const h of hooks) {
      const id = `whd_${createHash("sha256").update(`${h.id}\n${event}\n${key}`).digest("hex").slice(0, 26)}`;
      await webhooks.enqueue(scope, { id, webhookId: h.id, event, payload: data }, this.#now());
      await this.#d.kernel.start(this.deliver, { tenantId, deliveryId: id }, { key: id, namespace: tenantId });
    }
    return hooks.length;
  }

  /** One attempt: posts the signed event; throws (to be retried) unless the receiver answered 2xx. */
  async #attempt(input: DeliverInput, attempt: number): Promise<{ status: string }> {
    const scope = this.#scope(input.tenantId);
    const d = await webhooks.delivery(scope, input.deliveryId);
    if (d?.status !== "pending") return { status: d?.status ?? "removed" };
    const hook = await webhooks.get(scope, d.webhookId);
    const secret = hook && (await this.#d.vault.get(scope, secretName(hook.id)));
    if (!hook || !secret) return { status: "removed" };
    const now = this.#now();
    const body = JSON.stringify(envelope(input.tenantId, d));
    let httpStatus: number | null = null;
    let error: string | null = null;
    try {
      const res = await guardedFetch(
        hook.url,
        { method: "POST", headers: signedHeaders(secret, d.id, Math.floor(now / 1000), body), body },
        this.#d.config.net,
        { maxBytes: 4096, timeoutMs: 15_000, maxRedirects: 0 },
      );
      httpStatus = res.status;
      if (res.status < 200 || res.status > 299) error = `the receiver answered ${res.status}`;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const last = attempt >= DELIVERY_RETRY.maxAttempts;
    await webhooks.attempted(
      scope,
      d.id,
      { status: error === null ? "delivered" : last ? "failed" : "pending", httpStatus, error },
      this.#now(),
    );
    if (error !== null) throw new Error(`webhook delivery ${d.id}: ${error}`);
    return { status: "delivered" };
  }

  /** run.failed for the tenant's runs that failed since its webhooks were added (a schedule runs it every minute). */
  async #sweepFailed(tenantId: string): Promise<{ sent: number }> {
    const scope = this.#scope(tenantId);
    const hooks = (await webhooks.list(scope)).filter((h) => h.events.includes("run.failed"));
    if (hooks.length === 0) return { sent: 0 };
    const since = Math.min(...hooks.map((h) => h.createdAt));
    let sent = 0;
    for (const run of await this.#d.kernel.listRuns({ namespace: tenantId, status: "failed", limit: 100 })) {
      const at = run.completedAt ?? run.updatedAt;
      if (at < since) continue;
      const input = run.input as { sessionId?: unknown } | null;
      sent += await this.emit(tenantId, "run.failed", `${run.id}:${at}`, {
        runId: run.id,
        workflow: run.workflow,
        error: run.error?.message ?? "the run failed",
        failedAt: new Date(at).toISOString(),
        ...(typeof input?.sessionId === "string" ? { sessionId: input.sessionId } : {}),
      });
    }
    return { sent };
  }

  /** The every-minute sweep for failed runs exists while one of the tenant's webhooks wants run.failed. */
  async #syncSweep(tenantId: string): Promise<void> {
    const wanted = (await webhooks.list(this.#scope(tenantId))).some((h) => h.events.includes("run.failed"));
    const k = this.#d.kernel;
    const existing = await k.schedules.get(sweepId(tenantId)).catch(() => null);
    if (!wanted && existing) await k.schedules.delete(sweepId(tenantId));
    if (wanted && !existing)
      await k.schedules.create({
        id: sweepId(tenantId),
        workflow: FAILED_RUNS_WORKFLOW,
        cron: "* * * * *",
        input: { tenantId },
        namespace: tenantId,
        overlap: "skip",
        catchUp: "latest",
      });
  }
}

/** What a receiver gets: the event, with the delivery's id (also its webhook-id header). */
function envelope(tenantId: string, d: Delivery) {
  return { id: d.id, type: d.event, timestamp: new Date(d.createdAt).toISOString(), tenantId, data: d.payload };
}
