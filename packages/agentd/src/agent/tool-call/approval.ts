import { sessions } from "../../sessions/store.ts";
import { approvals, callHash, eventName, type ApprovalEvent } from "../approvals.ts";
import { alwaysOf, policies } from "../policy.ts";
import type { CallStage } from "./types.ts";

/**
 * When the policy asks: the approval is recorded and sent to the session's channel (a step), the
 * run waits durably for the person's decision (timeout means deny), and the outcome is settled (a
 * step; "Always" adds the allow rule the person was shown).
 */
export const approval: CallStage = {
  name: "approval",
  async run(c, { ctx, deps, input, tc, scope }) {
    if (!c.asks) return null;
    const { tool, args, subject, key } = c;
    // Bound to this run as well: model servers that number their call ids (call_0, …) reuse them across turns.
    const hash = callHash(tool.name, args, `${ctx.runId}:${key}`);
    const asked = await ctx.step(`ask:${key}`, async (step) => {
      const id = `apr_${hash.slice(0, 20)}`;
      const now = deps.now();
      const a = await approvals.create(
        scope,
        {
          id,
          runId: step.runId,
          sessionId: input.sessionId,
          tool: tool.name,
          subject,
          callHash: hash,
          expiresAt: now + tc.approvalTimeoutMs,
        },
        now,
      );
      const always = alwaysOf(tool, args).shown;
      step.publish({ t: "approval", id: a.id, code: a.code, tool: tool.name, subject, always });
      const session = await sessions.require(scope, input.sessionId);
      await deps.channels.deliver({
        tenantId: input.tenantId,
        session,
        kind: "approval",
        key: `approval:${a.id}`,
        text: `Approve ${tool.name}: ${subject}? ("Always" allows ${always} from now on.) (reply YES ${a.code} or NO ${a.code})`,
        runId: step.runId,
        approval: { id: a.id, code: a.code, tool: tool.name, subject, always },
      });
      return { id: a.id, callHash: a.callHash };
    });
    const ev = await ctx.waitForEvent<ApprovalEvent>(eventName(asked.id), { timeout: deps.approvalTimeout });
    // The hash the approval was made with: a run asked before call hashes named their run recorded none.
    const bound = (asked as { callHash?: string }).callHash ?? callHash(tool.name, args, key);
    const approved = ev !== null && ev.choice !== "deny" && ev.callHash === bound;
    await ctx.step(`settle:${key}`, async () => {
      const now = deps.now();
      await approvals.settle(
        scope,
        asked.id,
        ev === null ? "expired" : approved ? "approved" : "denied",
        ev?.by ?? "timeout",
        now,
      );
      if (approved && ev.choice === "always") await policies.allowAlways(scope, tool, args, now);
    });
    if (!approved)
      return ev === null
        ? "not approved in time (timeout means deny); do not retry this call"
        : "the user denied this call; do not retry it";
    return null;
  },
};
