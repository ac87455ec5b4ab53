import { policies, subjectOf } from "../policy.ts";
import type { CallStage } from "./types.ts";

/** The model's arguments against the tool's zod schema; what fails goes back to the model to fix. */
export const validate: CallStage = {
  name: "validate",
  async run(c) {
    const parsed = c.tool.input.safeParse(c.call.input);
    if (!parsed.success)
      return `error: invalid arguments for ${c.call.name}: ${parsed.error.issues.map((x) => `${x.path.join(".") || "(input)"}: ${x.message}`).join("; ")}`;
    c.args = parsed.data;
    c.subject = subjectOf(c.tool, c.args);
    return null;
  },
};

/** The tenant's rules for this tool and subject (a step: a rule added later does not change a replay). "ask" is the next stage's. */
export const policy: CallStage = {
  name: "policy",
  async run(c, { ctx, scope }) {
    const decided = await ctx.step(`policy:${c.key}`, () => policies.decide(scope, c.tool, c.subject));
    if (decided.decision === "deny") return `denied by policy (${decided.rule}); do not retry this call`;
    c.asks = decided.decision === "ask" || (decided.decision === "allow" && c.tool.allowable?.(c.args) === false);
    return null;
  },
};
