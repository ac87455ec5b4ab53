import { scrubUrls } from "../net/url-secrets.ts";
import { LOAD_TOOLS } from "../tools/load-tools/index.ts";
import { SPEAK_REPLY } from "../tools/speak-reply/index.ts";
import { FatalError, workflow, type WorkflowContext } from "@agentd/kernel";
import type { ModelMessage } from "ai";
import { type Session, sessions } from "../sessions/store.ts";
import { callModel, type ModelResult, toolSet } from "./call-model.ts";
import { compact } from "./compact.ts";
import { loadContext, type TurnContext } from "./context.ts";
import type { Delivery, LiveView } from "../channels/ports.ts";
import { LIST_ALONG, listedAlong, type Webhook } from "../webhooks/store.ts";
import { withListedHooks } from "../webhooks/tap.ts";
import type { AgentDeps } from "./deps.ts";
import { NO_MODEL_HINT } from "./model.ts";
import { historyMessages, instructions } from "./prompt.ts";
import type { Attachment } from "../blobs/types.ts";
import { showableImages, type ToolImages, toolImagesMessage, withMedia, withToolImages } from "./media.ts";
import { runToolCall } from "./tool-call/chain.ts";
import { tellNow, tellUnavailable, unavailableText } from "./unavailable.ts";
import { addUsage, usageWith } from "./usage.ts";
import type { TurnInput, TurnOutput } from "./turn-input.ts";
import { TURN, TURN_OPTIONS } from "./turn-workflow.ts";

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
    TURN,
    async (ctx, input) => {
      const scope = deps.tenants.scope(input.tenantId);
      // What this execution's context step read besides the context (null when the step was replayed),
      // never journaled. The session: later steps need only its channel and conversation, which never
      // change. Whether a later message was answered: the first model call, made right after, asks no more.
      let known: Session | null = null;
      let answered: boolean | null = null;
      // Unmarked (it only reads): the context is read while the run's insert commits, not after it. A
      // turn queued behind its session's lane reads it again once admitted, so it sees the turn before.
      const tc = await ctx.step(
        "context",
        async () => {
          const read = await loadContext(deps, scope, input);
          known = read.session;
          answered = read.answeredAfter;
          return read.context;
        },
        { startMarker: false },
      );
      const session = async () => known ?? (known = await sessions.require(scope, input.sessionId));
      const live = liveHandle(deps, input, ctx.runId, session);
      const superseded = (i: number, attempt: number) => {
        const fresh = i === 0 && attempt === 1 ? answered : null;
        answered = null;
        return fresh ?? sessions.answeredAfter(scope, input.sessionId, input.seq);
      };
      const result = await loop(ctx, deps, input, tc, live, superseded);
      const { files, speak, uncounted, ...out } = result;
      if (out.stopped === "superseded") return { messageId: null, ...out };
      // The tenant's webhooks as the reply's statement read them (Postgres), for the delivery made
      // right after it in this execution; never journaled (a replayed delivery reads them again).
      let hooks: Webhook[] | null = null;
      const reply = await ctx.step("reply", async (step) => {
        const now = deps.now();
        const { message, alongside } = await sessions.append(
          scope,
          {
            sessionId: input.sessionId,
            role: "assistant",
            content: result.text,
            sourceKey: `reply:${step.runId}`,
            runId: step.runId,
            ...(files.length ? { attachments: files } : {}),
          },
          now,
          uncounted === undefined ? undefined : usageWith(uncounted, now),
          LIST_ALONG,
        );
        hooks = alongside === undefined ? null : listedAlong(alongside);
        step.publish({
          t: "done",
          text: result.text,
          messageId: message.id,
          ...(files.length ? { files } : {}),
        });
        return { messageId: message.id };
      });
      // Spoken once: the voice note is a blob the journal names, so a replayed delivery sends the same one.
      const speaking = Boolean(
        deps.speech && tc.voiceReplies && deps.speech.wanted(tc.voiceReplies, tc.history, speak),
      );
      const voice = speaking
        ? await ctx.step("speak", (step) => speakReply(deps, input.tenantId, result.text, step.runId))
        : null;
      const sent = voice ? [...files, voice] : files;
      await ctx.step("deliver", async (step) => {
        await live.close();
        const d: Delivery = {
          tenantId: input.tenantId,
          session: await session(),
          kind: "reply",
          text: result.text,
          key: `reply:${step.runId}`,
          runId: step.runId,
          ...(sent.length ? { files: sent } : {}),
        };
        // Only right after the reply's statement: a spoken reply or a retry comes later, and reads again.
        await deps.channels.deliver(hooks && !speaking && step.attempt === 1 ? withListedHooks(d, hooks) : d);
      });
      if (deps.models && tc.compactFrom !== null) await compact(ctx, deps, input, tc.compactFrom);
      return { messageId: reply.messageId, ...out };
    },
    TURN_OPTIONS,
  );
}

/** The reply as a voice note, or null when the speech server fails (the text still goes; the log says why). */
async function speakReply(deps: AgentDeps, tenantId: string, text: string, runId: string): Promise<Attachment | null> {
  if (!text.trim()) return null;
  try {
    return await (deps.speech as NonNullable<AgentDeps["speech"]>).speak(tenantId, text, `speech:${runId}`);
  } catch (e) {
    console.error(
      `agentd: the reply of ${runId} was not spoken: ${scrubUrls(e instanceof Error ? e.message : String(e)).slice(0, 300)}`,
    );
    return null;
  }
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
function liveHandle(deps: AgentDeps, input: TurnInput, runId: string, session: () => Promise<Session>): LiveHandle {
  let opening: Promise<LiveView | null> | null = null;
  let view: LiveView | null = null;
  return {
    open: () =>
      (opening ??= (async () => {
        try {
          return (view = await deps.channels.live({ tenantId: input.tenantId, session: await session(), runId }));
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

/** Whether a later message of the session was answered before model call `i` (attempt `attempt`). */
type Superseded = (i: number, attempt: number) => boolean | Promise<boolean>;

/** What the model steps came to; `uncounted`: the final answer's tokens, which the reply's write counts. */
type Steps = Omit<TurnOutput, "messageId"> & { uncounted?: number };

async function loop(
  ctx: WorkflowContext,
  deps: AgentDeps,
  input: TurnInput,
  tc: TurnContext,
  live: LiveHandle,
  superseded: Superseded,
): Promise<Steps & Gathered> {
  const gathered: Gathered = { files: [], speak: false };
  const r = await steps(ctx, deps, input, tc, live, superseded, gathered);
  return { ...r, ...gathered };
}

/** What the tool calls of a turn asked of its reply, read from the calls (a replay agrees). */
interface Gathered {
  /** Files tools returned for the person (sent with the reply), in the order they came. */
  files: Attachment[];
  /** The person asked to hear the reply (speak_reply was called). */
  speak: boolean;
}

async function steps(
  ctx: WorkflowContext,
  deps: AgentDeps,
  input: TurnInput,
  tc: TurnContext,
  live: LiveHandle,
  superseded: Superseded,
  gathered: Gathered,
): Promise<Steps> {
  const { files } = gathered;
  if (tc.budgetLeft !== null && tc.budgetLeft <= 0)
    return {
      text: "The daily token budget of this account is used up; I can answer again tomorrow (UTC).",
      modelCalls: 0,
      tokens: 0,
      stopped: "budget",
    };
  const scope = deps.tenants.scope(input.tenantId);
  const tools = deps.tools.view(tc);
  let set = toolSet(tools.list());
  const system = instructions({
    now: tc.now,
    timezone: tc.timezone,
    summary: tc.summary,
    background: input.background ?? null,
    autopilot: tc.autopilot,
  });
  const messages: ModelMessage[] = historyMessages(tc.history);
  const shown: ToolImages = new Map();
  const show = (text: string) => void live.open().then((view) => view?.update(text));
  const maxAttempts = deps.modelRetry.maxAttempts ?? Number.POSITIVE_INFINITY;
  let tokens = 0;
  for (let i = 0; i < tc.maxIterations; i++) {
    const r = await ctx.step(
      `model:${i}`,
      async (step): Promise<ModelResult> => {
        // A turn retried after failing can find this, or one whose start a later message's overtook.
        if (await superseded(i, step.attempt)) return SUPERSEDED;
        try {
          if (!deps.models) throw new FatalError(NO_MODEL_HINT);
          const view = await live.open();
          const out = await callModel(
            deps.models,
            {
              instructions: system,
              messages:
                deps.models.images === false
                  ? messages
                  : await withToolImages(
                      await withMedia(messages, tc.history, deps.blobs, input.tenantId, deps.models.pdfs),
                      shown,
                      deps.blobs,
                      input.tenantId,
                    ),
              tools: set,
            },
            step,
            view ? (text) => view.update(text) : undefined,
          );
          // A final answer's usage is counted with the reply it becomes (one commit fewer a turn).
          if (out.calls.length === 0) return { ...out, counted: false };
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
    if (r.calls.length === 0)
      return {
        text: r.text,
        modelCalls: i + 1,
        tokens,
        stopped: "answer",
        ...(r.counted === false ? { uncounted: r.usage.input + r.usage.output } : {}),
      };
    messages.push({
      role: "assistant",
      content: [
        ...(r.text ? [{ type: "text" as const, text: r.text }] : []),
        ...r.calls.map((c) => ({ type: "tool-call" as const, toolCallId: c.id, toolName: c.name, input: c.input })),
      ],
    });
    const results = [];
    for (const call of r.calls)
      results.push({ call, output: await runToolCall({ ctx, deps, input, tc, scope, show }, tools, i, call) });
    live.view?.update("");
    // load_tools changes what the next model call is offered; read from the calls, so a replay agrees.
    if (
      results
        .filter(({ call }) => call.name === LOAD_TOOLS)
        .map(({ call }) => tools.load(call.input))
        .includes(true)
    )
      set = toolSet(tools.list());
    // A call that authorized a source (an MCP server) lists the tenant's tools again, in a step: the same turn offers its own.
    if (results.some(({ call }) => tools.relists(call.name))) {
      const more = await ctx.step(`tools:${i}`, async () => {
        const tenant = await deps.tenants.require(input.tenantId);
        return (await deps.tools.resolve(scope, { allow: tc.tools, deny: tenant.settings.deniedTools, sources: true }))
          .sourced;
      });
      if (tools.add(more)) set = toolSet(tools.list());
    }
    messages.push({
      role: "tool",
      content: results.map(({ call, output }) => ({
        type: "tool-result" as const,
        toolCallId: call.id,
        toolName: call.name,
        output: { type: "text" as const, value: output.output },
      })),
    });
    const images = deps.models?.images === false ? [] : showableImages(results.flatMap((r) => r.output.show ?? []));
    if (images.length) {
      shown.set(messages.length, images);
      messages.push(toolImagesMessage(images));
    }
    for (const f of results.flatMap((r) => r.output.send ?? [])) if (!files.some((o) => o.id === f.id)) files.push(f);
    if (results.some(({ call }) => call.name === SPEAK_REPLY)) gathered.speak = true;
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
