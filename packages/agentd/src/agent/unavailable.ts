import { FatalError, type StepContext } from "@agentd/kernel";
import { sessions } from "../sessions/store.ts";
import type { AgentDeps } from "./deps.ts";
import type { TurnInput } from "./turn-input.ts";

/** What a person reads when the model cannot be reached: short, and nothing of what went wrong inside. */
export const UNAVAILABLE_REPLY =
  "Sorry, I can't answer right now: the assistant is unavailable. Your message is kept, and I'll answer it as soon as I'm back.";

/** The same when no model is configured at all. */
export const NO_MODEL_REPLY =
  "Sorry, I can't answer yet: this assistant has no AI model set up. Your message is kept, and I'll answer it once one is.";

/** For a turn a reminder, schedule or heartbeat started: no message of the person's waits, their task does. */
export const BACKGROUND_UNAVAILABLE_REPLY =
  "Sorry, the assistant is unavailable right now, so something you scheduled is delayed; it will follow as soon as I'm back.";

/** The sentence for this turn: for a message, or for a background task; with a model that failed, or none. */
export function unavailableText(input: Pick<TurnInput, "background">, hasModel: boolean): string {
  if (input.background) return BACKGROUND_UNAVAILABLE_REPLY;
  return hasModel ? UNAVAILABLE_REPLY : NO_MODEL_REPLY;
}

/** Failed attempts of a model call before the person is told (the call is still retried after that). */
const TELL_AFTER_ATTEMPTS = 2;

/**
 * Whether a failed model call should be told to the person now: at once when retrying cannot help,
 * else at the second failed attempt, not after the whole backoff (tens of seconds). Once per step.
 */
export function tellNow(error: unknown, attempt: number, maxAttempts: number): boolean {
  const at = Math.min(TELL_AFTER_ATTEMPTS, maxAttempts);
  return attempt === at || (attempt < at && FatalError.is(error));
}

/**
 * Tells the person their message waits. Sent once per turn (the key is the run's: a retried turn that
 * fails again sends nothing new), through the session's channel and the run's stream; never stored
 * in the conversation, so the model never reads it. The operator's side (the failed run, its error)
 * is the kernel's. Best effort: a channel that fails here must not hide the model's error.
 */
export async function tellUnavailable(
  deps: AgentDeps,
  input: TurnInput,
  step: StepContext,
  text: string,
): Promise<void> {
  step.publish({ t: "unavailable", text });
  try {
    const session = await sessions.require(deps.tenants.scope(input.tenantId), input.sessionId);
    await deps.channels.deliver({
      tenantId: input.tenantId,
      session,
      kind: "notice",
      text,
      key: `unavailable:${step.runId}`,
      runId: step.runId,
    });
  } catch {
    // The run fails all the same and shows the model's error; a retry answers the message.
  }
}
