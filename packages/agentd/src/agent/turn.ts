import { FatalError, workflow, type WorkflowContext } from "@agentd/kernel";
import type { ModelMessage } from "ai";
import { sessions } from "../sessions/store.ts";
import { callModel, type ModelResult, toolSet } from "./call-model.ts";
import { compact } from "./compact.ts";
import { loadContext, type TurnContext } from "./context.ts";
import type { LiveView } from "../channels/ports.ts";
import type { AgentDeps } from "./deps.ts";
import { NO_MODEL_HINT } from "./model.ts";
import { historyMessages, instructions } from "./prompt.ts";
import { withMedia } from "./media.ts";
import { runToolCall } from "./tool-call/chain.ts";
import { tellNow, tellUnavailable, unavailableText } from "./unavailable.ts";
import { addUsage } from "./usage.ts";
import type { TurnInput, TurnOutput } from "./turn-input.ts";

/** What starts a turn: a message (or background event) already persisted in the session. */
export type { TurnInput, TurnOutput } from "./turn-input.ts";

/**
 * One turn = one durable run (DESIGN §2.3). Turns of a session run one at a time, in order. Each model
 * call is a step, so a completed call is replayed from the journal, never paid for again. A model that
 * cannot be used fails the turn: the person is told in plain words that their message waits, the
 * operator finds the run failed (with the cause), and a retry or the session's next message answers it.
 */
export function turnWorkflow(deps: AgentDeps) {
  return workflow<TurnInput, TurnOutput>(
    "agent.turn",
    async (ctx, input) => {
      const scope = deps.tenants.scope(input.tenantId);
      const tc = await ctx.step("context", () => loadContext(deps, scope, input));
      const live = liveHandle(deps, input, ctx.runId);
      const result = await loop(ctx, deps, input, tc, live);
      if (result.stopped === "superseded") return { messageId: null, ...result };
      const reply = await ctx.step("reply", async (step) => {
        const { message } = await sessions.append(
          scope,
          {
            sessionId: input.sessionId,
            role: "assistant",
            content: result.text,
            sourceKey: `reply:${step.runId}`,
            runId: step.runId,
          },
          deps.now(),
        );
        step.publish({ t: "done", text: result.text, messageId: message.id });
        return { messageId: message.id };
      });
      await ctx.step("deliver", async (step) => {
        const session = await sessions.require(scope, input.sessionId);
        await live.close();
        await deps.channels.deliver({
          tenantId: input.tenantId,
          session,
          kind: "reply",
          text: result.text,
          key: `reply:${step.runId}`,
          runId: step.runId,
        });
      });
      if (deps.models && tc.compactFrom !== null) await compact(ctx, deps, input, tc.compactFrom);
      return { messageId: reply.messageId, ...result };
    },
    { concurrency: { key: (i) => `session:${i.sessionId}`, limit: 1 }, retry: { maxAttempts: 3 } },
  );
}

/** The channel's live view of this turn, opened by the first model step that runs. */
interface LiveHandle {
  /** Opens the view (I/O: call it inside a step only). */
  open(): Promise<LiveView | null>;
  /** The view if open: for synchronous updates from the workflow body. */
  readonly view: LiveView | null;
  close(): Promise<void>;
}

/**
 * The session's channel shows the turn as it works (typing, then the reply as it is written). Best
 * effort and never journaled: a replayed turn opens a new view, and a failing one only costs the
 * preview. Opened inside steps, since workflow code between steps must not wait on I/O.
 */
function liveHandle(deps: AgentDeps, input: TurnInput, runId: string): LiveHandle {
  let opening: Promise<LiveView | null> | null = null;
  let view: LiveView | null = null;
  return {
    open: () =>
      (opening ??= (async () => {
        try {
          const session = await sessions.require(deps.tenants.scope(input.tenantId), input.sessionId);
          return (view = await deps.channels.live({ tenantId: input.tenantId, session, runId }));
        } catch {
          return null;
        }
      })()),
    get view() {
      return view;
    },
    close: async () => {
      await view?.close();
      view = null;
    },
  };
}

async function loop(
  ctx: WorkflowContext,
  deps: AgentDeps,
  input: TurnInput,
  tc: TurnContext,
  live: LiveHandle,
): Promise<Omit<TurnOutput, "messageId">> {
  if (tc.budgetLeft !== null && tc.budgetLeft <= 0)
    return {
      text: "The daily token budget of this account is used up; I can answer again tomorrow (UTC).",
      modelCalls: 0,
      tokens: 0,
      stopped: "budget",
    };
  const scope = deps.tenants.scope(input.tenantId);
  const tools = deps.tools.view(tc);
  const set = toolSet(tools.list());
  const system = instructions({
    now: tc.now,
    timezone: tc.timezone,
    summary: tc.summary,
    background: input.background ?? null,
    autopilot: tc.autopilot,
  });
  const messages: ModelMessage[] = historyMessages(tc.history);
  const maxAttempts = deps.modelRetry.maxAttempts ?? Number.POSITIVE_INFINITY;
  let tokens = 0;
  for (let i = 0; i < tc.maxIterations; i++) {
    const r = await ctx.step(
      `model:${i}`,
      async (step): Promise<ModelResult> => {
        // Only a turn retried after failing can find this: turns of a session otherwise run in order.
        if (await sessions.answeredAfter(scope, input.sessionId, input.seq)) return SUPERSEDED;
        try {
          if (!deps.models) throw new FatalError(NO_MODEL_HINT);
          const view = await live.open();
          const out = await callModel(
            deps.models,
            {
              instructions: system,
              messages: await withMedia(messages, tc.history, deps.blobs, input.tenantId),
              tools: set,
            },
            step,
            view ? (text) => view.update(text) : undefined,
          );
          await addUsage(scope, out.usage.input + out.usage.output, deps.now());
          return out;
        } catch (e) {
          if (tellNow(e, step.attempt, maxAttempts))
            await tellUnavailable(deps, input, step, unavailableText(input, deps.models !== null));
          throw e;
        }
      },
      { retry: deps.modelRetry, timeout: "5m" },
    );
    if (r.finish === SUPERSEDED.finish) return { text: "", modelCalls: i, tokens, stopped: "superseded" };
    tokens += r.usage.input + r.usage.output;
    if (r.calls.length === 0) return { text: r.text, modelCalls: i + 1, tokens, stopped: "answer" };
    messages.push({
      role: "assistant",
      content: [
        ...(r.text ? [{ type: "text" as const, text: r.text }] : []),
        ...r.calls.map((c) => ({ type: "tool-call" as const, toolCallId: c.id, toolName: c.name, input: c.input })),
      ],
    });
    const results = [];
    for (const call of r.calls)
      results.push({ call, output: await runToolCall({ ctx, deps, input, tc, scope }, tools, i, call) });
    live.view?.update("");
    messages.push({
      role: "tool",
      content: results.map(({ call, output }) => ({
        type: "tool-result" as const,
        toolCallId: call.id,
        toolName: call.name,
        output: { type: "text" as const, value: output },
      })),
    });
    if (tc.maxTurnTokens > 0 && tokens >= tc.maxTurnTokens)
      return {
        text: `${r.text ? `${r.text}\n\n` : ""}(I stopped: this turn reached its token limit of ${tc.maxTurnTokens}.)`,
        modelCalls: i + 1,
        tokens,
        stopped: "tokens",
      };
    if (tc.budgetLeft !== null && tokens >= tc.budgetLeft)
      return { text: "(I stopped: the daily token budget is used up.)", modelCalls: i + 1, tokens, stopped: "budget" };
  }
  return {
    text: `(I stopped after ${tc.maxIterations} steps without a final answer; ask me to continue.)`,
    modelCalls: tc.maxIterations,
    tokens,
    stopped: "iterations",
  };
}

/** What a model step records for a turn a later one made needless. */
const SUPERSEDED: ModelResult = { text: "", calls: [], usage: { input: 0, output: 0 }, finish: "agentd:superseded" };
