import type { TurnTools } from "../../tools/registry.ts";
import type { ModelCall } from "../call-model.ts";
import { approval } from "./approval.ts";
import { handoff } from "./handoff.ts";
import { policy, validate } from "./checks.ts";
import { connect } from "./connect.ts";
import { run } from "./run.ts";
import type { CallEnv, CallInFlight, CallStage, ToolAnswer } from "./types.ts";

/**
 * The chain of one tool call: the schema, the tenant's policy, a person when the policy asks, the
 * connection it uses authorized (connect.ts), a person taking over when the tool hands off (a login), then the tool itself in a step whose output is redacted, cut and fenced (run.ts, output.ts). A tool
 * that needs more (a pinned host key, a browser session) adds a stage here or an option the stages
 * read, never a branch in the turn.
 */
export const CALL_STAGES: readonly CallStage[] = [validate, policy, approval, connect, handoff];

/** Runs one call the model made; what it returns is the tool result the model reads next (and its files). */
export async function runToolCall(
  env: CallEnv,
  tools: TurnTools,
  i: number,
  call: ModelCall,
  stages: readonly CallStage[] = CALL_STAGES,
): Promise<ToolAnswer> {
  const tool = tools.get(call.name);
  if (!tool) return { output: `error: there is no tool named ${call.name}` };
  const inFlight: CallInFlight = { tool, call, key: `${i}:${call.id}`, args: undefined, subject: "", asks: false };
  for (const stage of stages) {
    if (stage.appliesTo && !stage.appliesTo(tool)) continue;
    const answer = await stage.run(inFlight, env);
    if (answer !== null) return { output: answer };
  }
  return run(inFlight, env);
}
