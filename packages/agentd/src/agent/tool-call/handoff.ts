import { sessions } from "../../sessions/store.ts";
import { handoffEvent, handoffs } from "../../tools/browser/handoffs.ts";
import { callHash } from "../approvals.ts";
import type { CallStage } from "./types.ts";

/** What the run receives when the person presses Done. */
export interface HandoffEvent {
  by: string;
}

/**
 * For a tool with a `handoff` (a login a person must finish: 2FA, a captcha): a link to a live view
 * of the tenant's browser goes to the session's channel with the tool's files (a screenshot), and the
 * run waits durably until the person presses Done there (the approval timeout, then it gives up).
 * Each attempt of the step sends a new link (the token is kept only as a hash, so a retried step
 * cannot resend the old one): the delivery key names the attempt, and the old link stops working.
 */
export const handoff: CallStage = {
  name: "handoff",
  appliesTo: (tool) => tool.handoff !== undefined,
  async run(c, { ctx, deps, input, tc, scope }) {
    const { tool, args, subject, key } = c;
    const id = `hof_${callHash(tool.name, args, `${ctx.runId}:${key}`).slice(0, 20)}`;
    await ctx.step(
      `handoff:${key}`,
      async (step) => {
        const now = deps.now();
        const { token } = await handoffs.open(
          scope,
          { id, runId: step.runId, reason: subject, expiresAt: now + tc.approvalTimeoutMs },
          now,
        );
        const link = `${deps.links.base}/handoff/${token}`;
        const { files } = await tool.handoff!(args, input.tenantId);
        step.publish({ t: "handoff", id, link, subject });
        const session = await sessions.require(scope, input.sessionId);
        await deps.channels.deliver({
          tenantId: input.tenantId,
          session,
          kind: "notice",
          key: `handoff:${id}:${step.attempt}`,
          text: `I need you to take over the browser: ${subject}\nOpen ${link} , finish there, then press Done. (The page as it is now is below.)`,
          runId: step.runId,
          files,
        });
        return { id };
      },
      { secret: true },
    );
    const ev = await ctx.waitForEvent<HandoffEvent>(handoffEvent(id), { timeout: deps.approvalTimeout });
    if (ev !== null) return null;
    await ctx.step(`handoff-end:${key}`, () => handoffs.finish(scope, id, "expired", deps.now()));
    return "the person did not take over in time (the link has expired); ask them whether to try again";
  },
};
