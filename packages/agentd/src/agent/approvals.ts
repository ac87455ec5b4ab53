import { createHash } from "node:crypto";
import { type Kernel, RunFinishedError } from "@agentd/kernel";
import { randomCode } from "../ids.ts";
import { badRequest, conflict, notFound } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";

/** cancelled: the run that asked ended without a decision (cancelled by the operator or the tenant). */
export type ApprovalStatus = "pending" | "approved" | "denied" | "expired" | "cancelled";
/** once: this call only; always: this call and, from now on, every call of the tool; deny: not this call. */
export type ApprovalChoice = "once" | "always" | "deny";

export interface Approval {
  id: string;
  runId: string;
  sessionId: string | null;
  tool: string;
  /** The subject (a URL, a command) as the person sees it. */
  subject: string;
  callHash: string;
  /** A short code for channels without buttons (reply "YES code"). */
  code: string;
  status: ApprovalStatus;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
}

/** What the run receives when a person decides. */
export interface ApprovalEvent {
  choice: ApprovalChoice;
  callHash: string;
  by: string;
}

interface Row {
  id: string;
  run_id: string;
  session_id: string | null;
  tool: string;
  args: string;
  call_hash: string;
  code: string;
  status: ApprovalStatus;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
}

const toApproval = (r: Row): Approval => ({
  id: r.id,
  runId: r.run_id,
  sessionId: r.session_id,
  tool: r.tool,
  subject: r.args,
  callHash: r.call_hash,
  code: r.code,
  status: r.status,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  decidedAt: r.decided_at === null ? null : Number(r.decided_at),
  decidedBy: r.decided_by,
});

/** Binds an approval to one exact call: the tool, its validated arguments and the call id. */
export function callHash(tool: string, args: unknown, callId: string): string {
  return createHash("sha256")
    .update(JSON.stringify([tool, args, callId]))
    .digest("hex")
    .slice(0, 32);
}

export const eventName = (approvalId: string) => `approval:${approvalId}`;

export const approvals = {
  /** Records a pending approval; idempotent by id (a replayed step creates nothing new). */
  async create(
    scope: TenantScope,
    a: {
      id: string;
      runId: string;
      sessionId: string | null;
      tool: string;
      subject: string;
      callHash: string;
      expiresAt: number;
    },
    now: number,
  ): Promise<Approval> {
    await scope.run(
      `INSERT INTO os_approvals (id, tenant_id, run_id, session_id, tool, args, call_hash, code, status, created_at, expires_at)
       VALUES (?, $tenant, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`,
      [
        a.id,
        a.runId,
        a.sessionId,
        a.tool,
        a.subject.slice(0, 2000),
        a.callHash,
        randomCode(4).toUpperCase(),
        now,
        a.expiresAt,
      ],
    );
    return (await this.get(scope, a.id)) as Approval;
  },

  async get(scope: TenantScope, id: string): Promise<Approval | null> {
    const r = await scope.get<Row>("SELECT * FROM os_approvals WHERE tenant_id = $tenant AND id = ?", [id]);
    return r ? toApproval(r) : null;
  },

  async byCode(scope: TenantScope, code: string): Promise<Approval | null> {
    const r = await scope.get<Row>(
      "SELECT * FROM os_approvals WHERE tenant_id = $tenant AND code = ? AND status = 'pending' ORDER BY created_at DESC",
      [code.toUpperCase()],
    );
    return r ? toApproval(r) : null;
  },

  async list(scope: TenantScope, status: ApprovalStatus | null = "pending", limit = 100): Promise<Approval[]> {
    const rows = status
      ? await scope.all<Row>(
          "SELECT * FROM os_approvals WHERE tenant_id = $tenant AND status = ? ORDER BY created_at DESC LIMIT ?",
          [status, limit],
        )
      : await scope.all<Row>("SELECT * FROM os_approvals WHERE tenant_id = $tenant ORDER BY created_at DESC LIMIT ?", [
          limit,
        ]);
    return rows.map(toApproval);
  },

  /**
   * A person's decision. The first one wins, and the kernel decides which is first: the event that
   * wakes the run carries the approval id as its event id, so of two racing decisions only one is
   * delivered; the other is refused with 409 and changes nothing. The event goes before the row is
   * marked: were we to crash in between, the run would still act (and settle the row itself).
   */
  async decide(
    scope: TenantScope,
    id: string,
    choice: string,
    by: string,
    now: number,
    events: {
      sendEvent(
        runId: string,
        name: string,
        payload: ApprovalEvent,
        options: { eventId: string },
      ): Promise<{ delivered: boolean }>;
    },
  ): Promise<Approval> {
    if (choice !== "once" && choice !== "always" && choice !== "deny")
      throw badRequest(`decision must be once, always or deny, got ${JSON.stringify(choice)}`);
    const a = await this.get(scope, id);
    if (!a) throw notFound(`approval ${id}`);
    if (a.status !== "pending") throw conflict(`approval ${id} was already ${a.status}`);
    if (a.expiresAt <= now) throw conflict(`approval ${id} expired (timeout means deny)`);
    const status: ApprovalStatus = choice === "deny" ? "denied" : "approved";
    const sent = await events
      .sendEvent(a.runId, eventName(id), { choice, callHash: a.callHash, by }, { eventId: id })
      .catch(async (e: unknown) => {
        // The run ended without settling it (cancelled before cancelling settled approvals): settle it now.
        if (!RunFinishedError.is(e)) throw e;
        await this.cancelFor(scope, [a.runId], now);
        throw conflict(`approval ${id} can no longer be decided: its run has ended (${e.status})`);
      });
    if (!sent.delivered) {
      const current = await this.get(scope, id);
      throw conflict(
        `approval ${id} was already ${current && current.status !== "pending" ? current.status : "decided"}`,
      );
    }
    // Only the delivered decision writes the row (the run's settle step may have written the same already).
    await scope.run(
      "UPDATE os_approvals SET status = ?, decided_at = ?, decided_by = ? WHERE tenant_id = $tenant AND id = ? AND status = 'pending'",
      [status, now, by, id],
    );
    return { ...a, status, decidedAt: now, decidedBy: by };
  },

  /** Settles what cancelled runs still asked for: no longer listed, counted or decidable. */
  async cancelFor(scope: TenantScope, runIds: string[], now: number): Promise<void> {
    if (runIds.length === 0) return;
    await scope.run(
      `UPDATE os_approvals SET status = 'cancelled', decided_at = ?, decided_by = 'cancel' WHERE tenant_id = $tenant AND status = 'pending' AND run_id IN (${runIds.map(() => "?").join(", ")})`,
      [now, ...runIds],
    );
  },

  /** The run's own record of the outcome it acted on (timeouts included): it is the authority. */
  async settle(scope: TenantScope, id: string, status: ApprovalStatus, by: string, now: number): Promise<void> {
    await scope.run(
      "UPDATE os_approvals SET status = ?, decided_at = COALESCE(decided_at, ?), decided_by = COALESCE(decided_by, ?) WHERE tenant_id = $tenant AND id = ?",
      [status, now, by, id],
    );
  },
};

/** Cancels a run and its unfinished children, and settles the approvals they were waiting for. */
export async function cancelRun(
  kernel: Pick<Kernel, "cancel">,
  scope: TenantScope,
  runId: string,
  now: number,
): Promise<string[]> {
  const ids = await kernel.cancel(runId);
  await approvals.cancelFor(scope, ids, now);
  return ids;
}
