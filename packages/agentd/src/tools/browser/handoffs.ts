import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../../db/index.ts";
import type { TenantScope } from "../../tenancy/scope.ts";

/** pending: the person has the link; done: they pressed Done; expired: nobody did in time (or the run ended). */
export type HandoffStatus = "pending" | "done" | "expired";

/** A person taking over a tenant's browser for a run (a login with 2FA, a captcha), through a link. */
export interface Handoff {
  id: string;
  tenantId: string;
  runId: string;
  reason: string;
  status: HandoffStatus;
  expiresAt: number;
}

interface Row {
  id: string;
  tenant_id: string;
  run_id: string;
  reason: string;
  status: HandoffStatus;
  expires_at: number;
}

const toHandoff = (r: Row): Handoff => ({
  id: r.id,
  tenantId: r.tenant_id,
  runId: r.run_id,
  reason: r.reason,
  status: r.status,
  expiresAt: Number(r.expires_at),
});

/** The link's secret is kept as its hash: the table alone lets nobody into a tenant's browser. */
const hashOf = (token: string) => createHash("sha256").update(token).digest("hex");

/** The event a run waiting for a person's "done" receives. */
export const handoffEvent = (id: string) => `handoff:${id}`;

export const handoffs = {
  /**
   * Opens a handoff, or returns the one already open under `id` (a retried step) with a new token:
   * the old link stops working, the new one is what the retried step sends.
   */
  async open(
    scope: TenantScope,
    h: { id: string; runId: string; reason: string; expiresAt: number },
    now: number,
  ): Promise<{ handoff: Handoff; token: string }> {
    const token = randomBytes(24).toString("base64url");
    await scope.run(
      "INSERT INTO os_handoffs (id, tenant_id, run_id, token_hash, reason, status, created_at, expires_at) VALUES (?, $tenant, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash",
      [h.id, h.runId, hashOf(token), h.reason.slice(0, 300), now, h.expiresAt],
    );
    const row = await scope.get<Row>("SELECT * FROM os_handoffs WHERE tenant_id = $tenant AND id = ?", [h.id]);
    return { handoff: toHandoff(row as Row), token };
  },

  /** The pending handoff a link's token opens, or null (unknown, done, expired): unscoped, as the token names no tenant. */
  async byToken(db: Db, token: string, now: number): Promise<Handoff | null> {
    if (!/^[\w-]{20,64}$/.test(token)) return null;
    const r = await db.get<Row>(
      "SELECT * FROM os_handoffs WHERE token_hash = ? AND status = 'pending' AND expires_at > ?",
      [hashOf(token), now],
    );
    return r ? toHandoff(r) : null;
  },

  /** Ends a pending handoff; false when it was not pending (pressed twice, or expired). */
  async finish(scope: TenantScope, id: string, status: "done" | "expired", now: number): Promise<boolean> {
    const { changes } = await scope.run(
      "UPDATE os_handoffs SET status = ?, finished_at = ? WHERE tenant_id = $tenant AND id = ? AND status = 'pending'",
      [status, now, id],
    );
    return changes > 0;
  },
};
