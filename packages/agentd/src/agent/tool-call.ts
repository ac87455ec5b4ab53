import type { StepContext } from "@agentd/kernel";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Tool } from "../tools/types.ts";
import { createRedactor } from "../vault/redact.ts";
import type { AgentDeps } from "./deps.ts";
import { fenceUntrusted } from "./prompt.ts";

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_CHARS = 8_000;

/**
 * Runs one validated, permitted tool call inside a step. Its result (what the journal keeps and the
 * model sees) is text: stripped of every vault value, then cut to the tool's limit (in that order:
 * a secret straddling the cut must not leave its head), fenced when it comes from outside. A failing tool is an answer for the model, not a failed turn.
 */
export async function executeTool(
  deps: AgentDeps, scope: TenantScope, tool: Tool, args: unknown,
  call: { id: string; sessionId: string | null; timezone: string }, step: StepContext,
): Promise<{ ok: boolean; output: string }> {
  const timeoutMs = tool.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signal = AbortSignal.any([step.signal, AbortSignal.timeout(timeoutMs)]);
  const redactor = createRedactor(await deps.secrets.values(scope));
  let ok = true;
  let text: string;
  try {
    const value = await raceAbort(
      tool.run(args, {
        tenant: scope, sessionId: call.sessionId, runId: step.runId, callId: call.id, now: deps.now(), timezone: call.timezone,
        signal, secrets: deps.secrets.reader(scope), redact: redactor.text, services: deps.services,
      }),
      signal, `${tool.name} took longer than ${timeoutMs} ms and was stopped`,
    );
    text = typeof value === "string" ? value : JSON.stringify(value ?? null);
  } catch (e) {
    ok = false;
    text = `error: ${e instanceof Error ? e.message : String(e)}`;
  }
  text = redactor.text(text);
  const max = tool.maxOutputChars ?? DEFAULT_MAX_CHARS;
  if (text.length > max) text = `${text.slice(0, max)}\n[cut: ${text.length - max} more characters]`;
  return { ok, output: tool.untrusted && ok ? fenceUntrusted(tool.name, text) : text };
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(message));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
