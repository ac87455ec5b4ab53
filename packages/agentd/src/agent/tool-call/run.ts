import type { StepContext } from "@agentd/kernel";
import { createRedactor } from "../../vault/redact.ts";
import { filesOf } from "../../tools/files.ts";
import { approval } from "./approval.ts";
import type { CallEnv, CallInFlight, ToolAnswer } from "./types.ts";
import { OUTPUT_STAGES, type OutputStage } from "./output.ts";

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The last stage: the tool runs in a step, and what the step records (what the journal keeps and
 * the model sees) is its output as text, through the output stages, with references to the files it
 * returned (`withFiles`), never their bytes. A tool's own failure is an
 * answer for the model (never thrown); attempts are spent only when the worker dies mid-call, and
 * then the call runs again, unless the tool has `rerun` and it says no: then a person is asked
 * whether to run it again (its outcome unknown), in a step of its own. The step is secret: its
 * error messages never reach the journal.
 */
export async function run(
  c: CallInFlight,
  env: CallEnv,
  output: readonly OutputStage[] = OUTPUT_STAGES,
): Promise<ToolAnswer> {
  let note = "";
  for (let round = 0; ; round++) {
    const key = round === 0 ? c.key : `${c.key}:again${round}`;
    const res = await env.ctx.step(
      `tool:${key}`,
      async (step): Promise<ToolAnswer & { ok: boolean; unknown?: true }> => {
        step.publish({ t: "tool", name: c.tool.name, subject: c.subject });
        // A later attempt means the worker died during the last one: what it did outside is unknown.
        if (step.attempt > 1 && c.tool.rerun && !(await c.tool.rerun(c.args, env.scope)))
          return { ok: false, output: "", unknown: true };
        return execute(c, env, step, output);
      },
      { retry: { maxAttempts: 3, initialInterval: "1s" }, secret: true },
    );
    if (!res.unknown) return note ? { ...res, output: note + res.output } : res;
    // Not run again silently: a person decides, shown the exact call (the host and command).
    const denied = await approval.run(
      {
        ...c,
        key: `${key}:unknown`,
        subject: `RUN AGAIN? the last attempt's outcome is unknown (its worker stopped while it ran): ${c.subject}`,
        asks: true,
      },
      env,
    );
    if (denied !== null)
      return {
        output: `error: the worker running this call stopped while it ran, so it may or may not have taken effect; it was not run again: ${denied}`,
      };
    if (round >= MAX_RERUNS)
      return {
        output:
          "error: this call's worker stopped during every attempt; it was not run again (check its effect by hand)",
      };
    note = "[note: the first attempt's outcome is unknown (its worker stopped); a person approved running it again]\n";
  }
}

const MAX_RERUNS = 3;

/** One execution: bounded by the tool's timeout and the step's signal; the vault read at call time. */
async function execute(
  c: CallInFlight,
  { deps, input, tc, scope, show }: CallEnv,
  step: StepContext,
  output: readonly OutputStage[],
): Promise<ToolAnswer & { ok: boolean }> {
  const { tool } = c;
  const timeoutMs = tool.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signal = AbortSignal.any([step.signal, AbortSignal.timeout(timeoutMs)]);
  const redactor = createRedactor(await deps.secrets.values(scope));
  let ok = true;
  let text: string;
  let files: Pick<ToolAnswer, "show" | "send"> = {};
  try {
    const value = await raceAbort(
      tool.run(c.args, {
        tenant: scope,
        sessionId: input.sessionId,
        runId: step.runId,
        callId: c.key,
        now: deps.now(),
        timezone: tc.timezone,
        signal,
        secrets: deps.secrets.reader(scope),
        redact: redactor.text,
        services: deps.services,
        progress: (data) => step.publish({ t: "tool_progress", name: tool.name, data }),
        ...(show ? { show } : {}),
      }),
      signal,
      `${tool.name} took longer than ${timeoutMs} ms and was stopped`,
    );
    const withFiles = filesOf(value);
    if (withFiles) {
      text = withFiles.text;
      files = {
        ...(withFiles.show.length ? { show: withFiles.show } : {}),
        ...(withFiles.send.length ? { send: withFiles.send } : {}),
      };
    } else text = typeof value === "string" ? value : JSON.stringify(value ?? null);
  } catch (e) {
    ok = false;
    text = `error: ${e instanceof Error ? e.message : String(e)}`;
  }
  for (const stage of output) text = stage.apply(text, { tool, ok, redactor });
  return { ok, output: text, ...files };
}

/** A tool that ignores its signal still ends the step on time; what it does after is never recorded. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(message));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
