import { randomUUID } from "node:crypto";
import { toMs } from "../duration.ts";
import type { WorkflowContext } from "../workflow.ts";
import { invoke, recorded } from "./invoke.ts";
import { toTime } from "./names.ts";
import type { CommandScope } from "./scope.ts";
import { step } from "./step.ts";
import { sleep, waitForEvent } from "./wait.ts";

export type { CommandScope, Waiter } from "./scope.ts";

/** The WorkflowContext a workflow function receives, bound to one execution. */
export function makeContext(s: CommandScope): WorkflowContext {
  return {
    runId: s.runId,
    workflow: s.wf.name,
    step: (name, fn, options) => step(s, name, fn, options),
    sleep: (name, d) => sleep(s, name, () => s.host.clock.now() + toMs(d)),
    sleepUntil: (name, at) => sleep(s, name, () => toTime(at)),
    waitForEvent: (name, options) => waitForEvent(s, name, options?.timeout),
    invoke: (w, input, options) => invoke(s, w, input, options?.timeout),
    now: () => recorded(s, "now", () => s.host.clock.now()),
    uuid: () => recorded(s, "uuid", () => randomUUID()),
    random: () => recorded(s, "random", () => Math.random()),
    continueAsNew: (input) => s.continueAsNew(input),
  };
}
