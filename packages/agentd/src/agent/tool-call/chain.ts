import type { TurnTools } from "../../tools/registry.ts";
import type { ModelCall } from "../call-model.ts";
import { approval } from "./approval.ts";
import { policy, validate } from "./checks.ts";
import { run } from "./run.ts";
import type { CallEnv, CallInFlight, CallStage } from "./types.ts";

/**
 * The chain of one tool call: the schema, the tenant's policy, a person when the policy asks, then
 * the tool itself in a step whose output is redacted, cut and fenced (run.ts, output.ts). A tool
 * that needs more (a pinned host key, a browser session) adds a stage here or an option the stages
 * read, never a branch in the turn.
 */
export const CALL_STAGES: readonly CallStage[] = [validate, policy, approval];

/** Runs one call the model made; what it returns is the tool result the model reads next. */
export async function runToolCall(
  env: CallEnv,
  tools: TurnTools,
  i: number,
  call: ModelCall,
  stages: readonly CallStage[] = CALL_STAGES,
): Promise<string> {
  const tool = tools.get(call.name);
  if (!tool) return `error: there is no tool named ${call.name}`;
  const inFlight: CallInFlight = { tool, call, key: `${i}:${call.id}`, args: undefined, subject: "", asks: false };
  for (const stage of stages) {
    if (stage.appliesTo && !stage.appliesTo(tool)) continue;
    const answer = await stage.run(inFlight, env);
    if (answer !== null) return answer;
  }
  return run(inFlight, env);
}
