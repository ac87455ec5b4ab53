import type { WorkflowContext } from "@agentd/kernel";
import { sessions } from "../sessions/store.ts";
import { loadAi } from "./ai-sdk.ts";
import type { AgentDeps } from "./deps.ts";
import { classifyModelError } from "./model.ts";
import type { TurnInput } from "./turn-input.ts";
import { addUsage } from "./usage.ts";

const INSTRUCTIONS = `You maintain the memory of a conversation. Given the current summary and older messages that are leaving the context:
1. List durable facts about the user worth remembering (preferences, names, dates, commitments), one per line starting with "- ", under FACTS:. Write NONE if there are none.
2. Write an updated short summary under SUMMARY:.`;

/**
 * Folds messages leaving the context window into the rolling summary, after first saving the facts
 * they hold to long-term memory: what the user said is never simply dropped.
 */
export async function compact(ctx: WorkflowContext, deps: AgentDeps, input: TurnInput, fromSeq: number): Promise<void> {
  const scope = deps.tenants.scope(input.tenantId);
  const plan = await ctx.step("compact:plan", async () => {
    const session = await sessions.require(scope, input.sessionId);
    if (session.summarizedSeq !== fromSeq) return null; // another turn compacted already
    const leaving = await sessions.leaving(scope, session, deps.historyWindow, input.seq);
    if (leaving.length === 0) return null;
    return {
      summary: session.summary,
      upTo: leaving.at(-1)!.seq,
      text: leaving.map((m) => `${m.role}: ${m.content}`).join("\n"),
    };
  });
  if (!plan) return;
  const out = await ctx.step(
    "compact:model",
    async () => {
      try {
        const { generateText } = await loadAi();
        const r = await generateText({
          model: deps.models!.summary,
          instructions: INSTRUCTIONS,
          maxRetries: 0,
          prompt: `Current summary:\n${plan.summary || "(none)"}\n\nMessages leaving the context:\n${plan.text}`,
        });
        await addUsage(scope, (r.usage.inputTokens ?? 0) + (r.usage.outputTokens ?? 0), deps.now());
        return parseCompaction(r.text, plan.summary);
      } catch (e) {
        throw classifyModelError(e, deps.models!);
      }
    },
    { retry: deps.modelRetry },
  );
  await ctx.step("compact:save", async (step) => {
    const now = deps.now();
    // Keyed by run and position: a replayed save remembers nothing twice.
    for (const [i, fact] of out.facts.entries())
      await deps.memory.add(scope, { content: fact, source: "conversation", key: `${step.runId}:fact:${i}` });
    await sessions.saveSummary(scope, input.sessionId, out.summary, plan.upTo, now);
  });
}

/** Reads "FACTS: - a - b SUMMARY: …" leniently; a model that ignores the format still yields a summary. */
export function parseCompaction(text: string, previous: string): { facts: string[]; summary: string } {
  const sIdx = text.search(/SUMMARY:/i);
  const fIdx = text.search(/FACTS:/i);
  const summary = (sIdx >= 0 ? text.slice(sIdx + 8) : text).trim().slice(0, 4000) || previous;
  const factText = fIdx >= 0 ? text.slice(fIdx + 6, sIdx > fIdx ? sIdx : undefined) : "";
  const facts = factText
    .split("\n")
    .map((l) => l.replace(/^\s*[-*]\s*/, "").trim())
    .filter((l) => l && !/^none\.?$/i.test(l))
    .map((l) => l.slice(0, 1000));
  return { facts, summary };
}
