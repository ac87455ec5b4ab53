import type { StepContext } from "@agentd/kernel";
import { createRedactor } from "../../vault/redact.ts";
import type { CallEnv, CallInFlight } from "./types.ts";
import { OUTPUT_STAGES, type OutputStage } from "./output.ts";

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The last stage: the tool runs in a step, and what the step records (what the journal keeps and
 * the model sees) is its output as text, through the output stages. A tool's own failure is an
 * answer for the model (never thrown); attempts are spent only when the worker dies mid-call, and
 * then the call runs again. The step is secret: its error messages never reach the journal.
 */
export async function run(
  c: CallInFlight,
  env: CallEnv,
  output: readonly OutputStage[] = OUTPUT_STAGES,
): Promise<string> {
  const res = await env.ctx.step(
    `tool:${c.key}`,
    (step) => {
      step.publish({ t: "tool", name: c.tool.name, subject: c.subject });
      return execute(c, env, step, output);
    },
    { retry: { maxAttempts: 3, initialInterval: "1s" }, secret: true },
  );
  return res.output;
}

/** One execution: bounded by the tool's timeout and the step's signal; the vault read at call time. */
async function execute(
  c: CallInFlight,
  { deps, input, tc, scope }: CallEnv,
  step: StepContext,
  output: readonly OutputStage[],
): Promise<{ ok: boolean; output: string }> {
  const { tool } = c;
  const timeoutMs = tool.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signal = AbortSignal.any([step.signal, AbortSignal.timeout(timeoutMs)]);
  const redactor = createRedactor(await deps.secrets.values(scope));
  let ok = true;
  let text: string;
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
      }),
      signal,
      `${tool.name} took longer than ${timeoutMs} ms and was stopped`,
    );
    text = typeof value === "string" ? value : JSON.stringify(value ?? null);
  } catch (e) {
    ok = false;
    text = `error: ${e instanceof Error ? e.message : String(e)}`;
  }
  for (const stage of output) text = stage.apply(text, { tool, ok, redactor });
  return { ok, output: text };
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
