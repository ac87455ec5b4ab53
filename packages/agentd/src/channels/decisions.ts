import { type Approval, approvals, type ApprovalChoice } from "../agent/approvals.ts";
import { sessions } from "../sessions/store.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { DecisionsPort, ReplyDecision, TenantsPort, Where } from "./ports.ts";

/**
 * How people decide approvals from a channel: a button bound to one approval (Telegram's inline
 * keyboard, WhatsApp's reply buttons) or a reply naming its short code (`YES K7QF`, for SMS and any
 * chat without buttons). Both are first-wins: the approval row moves from pending once, and the
 * event that wakes the run carries the approval id as its event id.
 */

/** What a decision button carries: `apr:<approval id>:<choice>` (64 bytes at most, Telegram's callback_data limit). */
export const buttonData = (approvalId: string, choice: ApprovalChoice) => `apr:${approvalId}:${choice}`;

/** The three buttons of an approval request, in the order they are shown. */
export const DECISION_BUTTONS: { choice: ApprovalChoice; title: string }[] = [
  { choice: "once", title: "Approve once" },
  { choice: "always", title: "Always" },
  { choice: "deny", title: "Deny" },
];

/** What the person is told once their button press is recorded. */
export const DECIDED: Record<ApprovalChoice, string> = {
  once: "Approved once.",
  always: "Approved, and always from now on.",
  deny: "Denied.",
};

/**
 * Only the conversation an approval was asked in decides it from a channel (the HTTP API and the
 * dashboard decide any of the tenant's): another person of the tenant, in another chat or on another
 * channel, cannot approve a call they never saw.
 */
async function asked(scope: TenantScope, a: Approval, where: Where): Promise<boolean> {
  if (!a.sessionId) return false;
  const s = await sessions.get(scope, a.sessionId);
  return s !== null && s.channel === where.channel && s.conversation === where.conversation;
}

const BUTTON = /^apr:([^:]+):(once|always|deny)$/;
const REPLY = /^\s*(YES|NO|Y|N|APPROVE|DENY)\s+([A-Za-z0-9]{4,8})\s*[.!]?\s*$/i;

/** Whether button data is a decision button's (anything else is not ours to answer). */
export const isDecisionButton = (data: string) => BUTTON.test(data);

/** What deciding needs: the tenants' data, the kernel's events (which wake the waiting run) and its clock. */
export interface DecisionsDeps {
  tenants: Pick<TenantsPort, "scope">;
  events: Parameters<typeof approvals.decide>[5];
  now(): number;
}

/** The decisions port channels use (see DecisionsPort). */
export function channelDecisions(deps: DecisionsDeps): DecisionsPort {
  return {
    byButton: (tenantId, data, by, where) => decideByButton(deps, tenantId, data, by, where),
    byReply: (tenantId, text, by, where) => decideByReply(deps, tenantId, text, by, where),
  };
}

/**
 * A press of a decision button by someone of `tenantId` (null: a person no tenant knows) in `where`.
 * Another tenant's approval is simply not found (the lookup is scoped to the presser's tenant), one
 * asked in another conversation is not theirs either; a decided or expired one is refused. Returns what to tell the presser, and whether the press decided anything.
 */
async function decideByButton(
  deps: DecisionsDeps,
  tenantId: string | null,
  data: string,
  by: string,
  where: Where,
): Promise<{ decided: boolean; text: string }> {
  const m = BUTTON.exec(data);
  if (!m) return { decided: false, text: "Unknown button." };
  const [, id, choice] = m as unknown as [string, string, ApprovalChoice];
  const scope = tenantId ? deps.tenants.scope(tenantId) : null;
  const a = scope ? await approvals.get(scope, id) : null;
  if (!scope || !a || !(await asked(scope, a, where))) return { decided: false, text: "This button is not yours." };
  const now = deps.now();
  if (a.status !== "pending" || a.expiresAt <= now)
    return { decided: false, text: `Already ${a.status === "pending" ? "expired" : a.status}.` };
  try {
    await approvals.decide(scope, id, choice, by, now, deps.events);
  } catch (e) {
    return { decided: false, text: `Not decided: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { decided: true, text: DECIDED[choice] };
}

/**
 * A text that may be a decision by code (`YES K7QF`, `no k7qf`). Null when it is not one (or the code
 * names nothing of this tenant's): the text is then an ordinary message. `replayed`: a decision
 * already made (a redelivery, or a second answer), nothing to do. `refused`: tell the person why.
 */
async function decideByReply(
  deps: DecisionsDeps,
  tenantId: string,
  text: string,
  by: string,
  where: Where,
): Promise<ReplyDecision | null> {
  const m = REPLY.exec(text);
  if (!m) return null;
  const scope = deps.tenants.scope(tenantId);
  const code = (m[2] as string).toUpperCase();
  const pending = await approvals.byCode(scope, code);
  if (pending && !(await asked(scope, pending, where)))
    return { kind: "refused", text: "That approval was asked in another conversation: decide it there." };
  if (pending) {
    const choice: ApprovalChoice = /^(YES|Y|APPROVE)$/i.test(m[1] as string) ? "once" : "deny";
    try {
      await approvals.decide(scope, pending.id, choice, by, deps.now(), deps.events);
    } catch (e) {
      return {
        kind: "refused",
        text: `That approval can no longer be decided (${e instanceof Error ? e.message : String(e)}).`,
      };
    }
    return { kind: "decided" };
  }
  const decided = await scope.get<{ id: string }>(
    "SELECT id FROM os_approvals WHERE tenant_id = $tenant AND code = ? AND status <> 'pending'",
    [code],
  );
  return decided ? { kind: "replayed" } : null;
}
