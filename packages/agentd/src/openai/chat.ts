import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../app.ts";
import type { TenantEnv } from "../api/env.ts";
import { jsonBody } from "../api/body.ts";
import { redactorFor } from "../api/views.ts";
import { scopeOf } from "../api/env.ts";
import { openaiError } from "./errors.ts";
import { answerId } from "./ids.ts";
import { unknownModel } from "./models.ts";
import { sseResponse } from "./sse.ts";
import { conversationOf, personText, type Started, startTurn } from "./start.ts";
import { collect, type TurnEvent, turnEvents } from "./turn-events.ts";

const Part = z.looseObject({ type: z.string(), text: z.string().optional() });

/** A chat completion request: what agentd reads of it (other parameters are accepted and ignored). */
export const ChatRequest = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z
    .array(z.looseObject({ role: z.string(), content: z.union([z.string(), z.array(Part), z.null()]).optional() }))
    .min(1)
    .max(10_000),
  stream: z.boolean().nullish(),
  user: z.string().max(200).nullish(),
});

/**
 * The person's new message: the last user message's text. The conversation's earlier messages are
 * agentd's own (the session keeps them), so a client resending the history does not repeat it.
 */
function lastUserText(messages: z.infer<typeof ChatRequest>["messages"]): string {
  const m = messages.findLast((x) => x.role === "user");
  const content = m?.content ?? "";
  const text =
    typeof content === "string"
      ? content
      : content
          .filter((p) => p.type === "text" && typeof p.text === "string")
          .map((p) => p.text)
          .join("\n");
  return personText(text);
}

/** POST /chat/completions: a message to the tenant's agent, answered whole or streamed as chunks ending with [DONE]. */
export function chatRoutes(app: Agentd) {
  return new Hono<TenantEnv>().post("/chat/completions", jsonBody(ChatRequest), async (c) => {
    const body = c.req.valid("json");
    const wrong = unknownModel(c, body.model);
    if (wrong) return wrong;
    const text = lastUserText(body.messages);
    const started = await startTurn(app, c, conversationOf(c, body.user), text);
    const redact = await redactorFor(app, scopeOf(app, c));
    const id = answerId("chatcmpl-", started);
    const shape = chatShape(id, Math.floor(app.kernel.clock.now() / 1000), body.model);
    const agentd = { session_id: started.sessionId, run_id: started.runId, conversation: started.conversation };
    const events = (signal: AbortSignal): AsyncIterable<TurnEvent> =>
      started.notice ? noticeOnly(started) : turnEvents(app, { ...started, redact, signal });
    if (!body.stream) {
      const r = await collect(events(c.req.raw.signal));
      if (r.failed) return openaiError(c, 502, r.failed.code, r.failed.message);
      return c.json({ ...shape.whole(r.text), agentd: { ...agentd, ...(r.approval ? { approval: r.approval } : {}) } });
    }
    const chunk = shape.chunk;
    return sseResponse(
      c.req.raw.signal,
      async (send, stop) => {
        send(chunk({ role: "assistant", content: "" }, null, { agentd }));
        for await (const e of events(stop)) {
          if (e.kind === "text") send(chunk({ content: e.text }, null));
          else if (e.kind === "approval")
            send(chunk({ content: e.text }, null, { agentd: { ...agentd, approval: e.approval } }));
          else if (e.kind === "failed")
            return send({ error: { message: e.message, type: "server_error", param: null, code: e.code } });
        }
        if (stop.aborted) return;
        send(chunk({}, "stop"));
        send("[DONE]");
      },
      (e) => {
        app.log({ level: "error", msg: "openai chat stream failed", error: String(e) });
        return {
          error: {
            message: "the stream failed; the turn goes on and its reply is kept in the conversation",
            type: "server_error",
            param: null,
            code: "stream_failed",
          },
        };
      },
    );
  });
}

/** A chat completion and its chunks, as the SDK types them (`ChatCompletion`, `ChatCompletionChunk`). */
export function chatShape(id: string, created: number, model: string) {
  return {
    whole: (text: string) => ({
      id,
      object: "chat.completion" as const,
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: "assistant" as const, content: text, refusal: null },
          finish_reason: "stop" as const,
          logprobs: null,
        },
      ],
    }),
    chunk: (delta: { role?: "assistant"; content?: string }, finish: "stop" | null, extra: object = {}) => ({
      id,
      object: "chat.completion.chunk" as const,
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      ...extra,
    }),
  };
}

/** The events of an answer that is a sentence of agentd's, not a turn's. */
export async function* noticeOnly(s: Started): AsyncGenerator<TurnEvent> {
  yield { kind: "text", text: s.notice ?? "" };
  yield { kind: "done", messageId: null };
}
