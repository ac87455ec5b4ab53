import type { Agentd } from "../app.ts";
import { approvals } from "../agent/approvals.ts";
import { acceptMessage } from "../api/accept.ts";
import { actor, scopeOf, type TenantContext } from "../api/env.ts";
import { MAX_TEXT_CHARS } from "../api/routes/messages.ts";
import { redactorFor } from "../api/views.ts";
import { badRequest, notFound } from "../errors.ts";
import { sessions } from "../sessions/store.ts";
import { runOfAnswer } from "./ids.ts";
import { approvalNotice } from "./turn-events.ts";

/** The channel of the sessions the OpenAI-compatible endpoint talks in. */
export const CHANNEL = "openai";
/** A header naming the conversation (an agentd session) a request belongs to. */
export const CONVERSATION_HEADER = "x-agentd-conversation";
/** The conversation of requests that name none: one per tenant. */
export const DEFAULT_CONVERSATION = "default";

/** What a request led to: the turn whose events answer it, or a sentence to answer at once. */
export interface Started {
  runId: string;
  sessionId: string;
  conversation: string;
  /** Set when the request decided an approval: the turn that waited for it, from just after it. */
  afterApproval?: string;
  /** Set when the answer is this sentence and no turn's events (the turn queued waits on an earlier decision). */
  notice?: string;
}

/**
 * The conversation a request names: the X-Agentd-Conversation header, else the first of `named`
 * given (a conversation id, the `user` field), else the tenant's default one.
 */
export function conversationOf(c: TenantContext, ...named: (string | null | undefined)[]): string {
  const name = [c.req.header(CONVERSATION_HEADER), ...named].find((n) => typeof n === "string" && n.trim() !== "");
  const conversation = name?.trim() ?? DEFAULT_CONVERSATION;
  if (conversation.length > 200) throw badRequest("a conversation id is 200 characters at most");
  return conversation;
}

/** The conversation of an earlier response (`resp_<run id>`), for `previous_response_id`. */
export async function conversationOfResponse(app: Agentd, c: TenantContext, responseId: string): Promise<string> {
  const runId = runOfAnswer("resp_", responseId);
  const run = runId ? await app.kernel.getRun(runId) : null;
  const input = run?.input as { sessionId?: unknown } | undefined;
  const session =
    run && run.namespace === c.get("tenantId") && typeof input?.sessionId === "string"
      ? await sessions.get(scopeOf(app, c), input.sessionId)
      : null;
  if (!session || session.channel !== CHANNEL)
    throw notFound(`response ${responseId} (previous_response_id names a response of this endpoint's)`);
  return session.conversation;
}

/** The person's text, checked: what a turn is started with. */
export function personText(text: string): string {
  if (text.trim() === "") throw badRequest("the last user message has no text: send some text to the agent");
  if (text.length > MAX_TEXT_CHARS) throw badRequest(`a message is ${MAX_TEXT_CHARS} characters at most`);
  return text;
}

/**
 * The person's message in `conversation`. While a turn there waits for a decision, the message may
 * be it ("YES K7QF"): the decision is made and that turn's events answer, from just after the
 * question. Any other message is kept and queued behind the waiting turn, and the answer says what
 * it waits for (a client would otherwise hang until someone decides).
 */
export async function startTurn(app: Agentd, c: TenantContext, conversation: string, text: string): Promise<Started> {
  const scope = scopeOf(app, c);
  const session = await sessions.find(scope, CHANNEL, conversation);
  const waiting = session
    ? (await approvals.list(scope, "pending", 500)).filter((a) => a.sessionId === session.id)
    : [];
  if (session && waiting.length > 0) {
    const where = { channel: CHANNEL, conversation };
    const decision = await app.channelHost.decisions.byReply(c.get("tenantId"), text, actor(c), where);
    if (decision?.kind === "decided")
      for (const a of waiting)
        if ((await approvals.get(scope, a.id))?.status !== "pending")
          return { runId: a.runId, sessionId: session.id, conversation, afterApproval: a.id };
    const first = waiting[waiting.length - 1] as (typeof waiting)[number];
    if (decision?.kind === "refused")
      return { runId: first.runId, sessionId: session.id, conversation, notice: decision.text };
  }
  const received = await acceptMessage(app, c, { channel: CHANNEL, conversation, text, sourceKey: null });
  const still = waiting.filter((a) => a.runId !== received.runId);
  const oldest = still[still.length - 1];
  if (!oldest) return { runId: received.runId, sessionId: received.session.id, conversation };
  const a = (await redactorFor(app, scope)).deep(oldest);
  return {
    runId: received.runId,
    sessionId: received.session.id,
    conversation,
    notice: `Your message is kept and will be answered once an earlier request is decided. ${approvalNotice(a)}`,
  };
}
