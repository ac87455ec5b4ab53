import { type Workflow, type WorkflowOptions, workflow } from "@agentd/kernel";
import type { TurnInput, TurnOutput } from "./turn-input.ts";

/** The turn's workflow name. */
export const TURN = "agent.turn";

/** How the kernel runs turns: a session's turns one at a time and in order (its lane), three attempts. */
export const TURN_OPTIONS = {
  concurrency: { key: (i: TurnInput) => `session:${i.sessionId}`, limit: 1 },
  retry: { maxAttempts: 3 },
} satisfies WorkflowOptions<TurnInput>;

/**
 * The turn's workflow with its code (agent/turn.ts and what it imports: some 20 modules) loaded by
 * the first turn, not when agentd is made, so `agentd start` is ready sooner. `load` is synchronous
 * (a require): the kernel gives a body until its next turn of the event loop to issue its first
 * command, and the turn's first step comes before any await, as it does when loaded at start.
 */
export function lazyTurnWorkflow(load: () => Workflow<TurnInput, TurnOutput>): {
  workflow: Workflow<TurnInput, TurnOutput>;
  /** Loads the turn's code now (once). */
  load(): void;
} {
  let real: Workflow<TurnInput, TurnOutput> | undefined;
  const loaded = () => (real ??= load());
  return {
    workflow: workflow<TurnInput, TurnOutput>(TURN, (ctx, input) => loaded().fn(ctx, input), TURN_OPTIONS),
    load: () => void loaded(),
  };
}
