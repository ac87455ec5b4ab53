import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../app.ts";
import { jsonBody } from "../api/body.ts";
import { scopeOf, type TenantEnv } from "../api/env.ts";
import { redactorFor } from "../api/views.ts";
import { noticeOnly } from "./chat.ts";
import { openaiError } from "./errors.ts";
import { unknownModel } from "./models.ts";
import { answerId } from "./ids.ts";
import { sseResponse } from "./sse.ts";
import { conversationOf, conversationOfResponse, personText, type Started, startTurn } from "./start.ts";
import { collect, type TurnEvent, turnEvents, type WaitingApproval } from "./turn-events.ts";

const Part = z.looseObject({ type: z.string(), text: z.string().optional() });
const Item = z.looseObject({
  type: z.string().optional(),
  role: z.string().optional(),
  content: z.union([z.string(), z.array(Part)]).optional(),
});

/** A Responses API request: what agentd reads of it (other parameters are accepted and ignored). */
export const ResponsesRequest = z.looseObject({
  model: z.string().min(1).max(200),
  input: z.union([z.string(), z.array(Item).min(1).max(10_000)]),
  stream: z.boolean().nullish(),
  previous_response_id: z.string().max(300).nullish(),
  conversation: z.union([z.string().max(200), z.looseObject({ id: z.string().max(200) })]).nullish(),
  safety_identifier: z.string().max(200).nullish(),
  user: z.string().max(200).nullish(),
});
type Request = z.infer<typeof ResponsesRequest>;

/** The person's new message: the input text, or the last user item's text (input_text parts). */
function inputText(input: Request["input"]): string {
  if (typeof input === "string") return personText(input);
  const item = input.findLast((i) => i.role === "user" && (i.type === undefined || i.type === "message"));
  const content = item?.content ?? "";
  return personText(
    typeof content === "string"
      ? content
      : content
          .filter((p) => (p.type === "input_text" || p.type === "text") && typeof p.text === "string")
          .map((p) => p.text)
          .join("\n"),
  );
}

/** POST /responses: a message to the tenant's agent, answered as a Response or streamed as the SDK's events. */
export function responseRoutes(app: Agentd) {
  return new Hono<TenantEnv>().post("/responses", jsonBody(ResponsesRequest), async (c) => {
    const body = c.req.valid("json");
    const wrong = unknownModel(c, body.model);
    if (wrong) return wrong;
    const text = inputText(body.input);
    const named = typeof body.conversation === "string" ? body.conversation : body.conversation?.id;
    const previous = body.previous_response_id ? await conversationOfResponse(app, c, body.previous_response_id) : null;
    const started = await startTurn(
      app,
      c,
      conversationOf(c, named, previous, body.safety_identifier, body.user),
      text,
    );
    const redact = await redactorFor(app, scopeOf(app, c));
    const shape = responseShape(started, body, Math.floor(app.kernel.clock.now() / 1000));
    const events = (signal: AbortSignal): AsyncIterable<TurnEvent> =>
      started.notice ? noticeOnly(started) : turnEvents(app, { ...started, redact, signal });
    if (!body.stream) {
      const r = await collect(events(c.req.raw.signal));
      if (r.failed) return openaiError(c, 502, r.failed.code, r.failed.message);
      return c.json(shape.response("completed", r.text, r.approval));
    }
    return sseResponse(
      c.req.raw.signal,
      async (send, stop) => {
        let seq = 0;
        const emit = (type: string, fields: object) => send({ type, sequence_number: seq++, ...fields });
        const at = { item_id: shape.itemId, output_index: 0 };
        emit("response.created", { response: shape.response("in_progress") });
        emit("response.in_progress", { response: shape.response("in_progress") });
        emit("response.output_item.added", { output_index: 0, item: shape.message("in_progress", null) });
        emit("response.content_part.added", { ...at, content_index: 0, part: outputText("") });
        let text = "";
        let approval: WaitingApproval | null = null;
        for await (const e of events(stop)) {
          if (e.kind === "text" || e.kind === "approval") {
            text += e.text;
            emit("response.output_text.delta", { ...at, content_index: 0, delta: e.text, logprobs: [] });
          }
          if (e.kind === "approval") approval = e.approval;
          if (e.kind === "failed")
            return emit("response.failed", {
              response: { ...shape.response("failed", text), error: { code: "server_error", message: e.message } },
            });
        }
        if (stop.aborted) return;
        emit("response.output_text.done", { ...at, content_index: 0, text, logprobs: [] });
        emit("response.content_part.done", { ...at, content_index: 0, part: outputText(text) });
        emit("response.output_item.done", { output_index: 0, item: shape.message("completed", text) });
        emit("response.completed", { response: shape.response("completed", text, approval) });
      },
      (e) => {
        app.log({ level: "error", msg: "openai responses stream failed", error: String(e) });
        return {
          type: "error",
          sequence_number: 0,
          code: "stream_failed",
          message: "the stream failed; the turn goes on and its reply is kept in the conversation",
          param: null,
        };
      },
    );
  });
}

const outputText = (text: string) => ({ type: "output_text" as const, text, annotations: [], logprobs: [] });

/** The Response object and its one message, as the SDK types them (`Response`, `ResponseOutputMessage`). */
export function responseShape(s: Started, body: Request, created: number) {
  const id = answerId("resp_", s);
  const itemId = `msg_${id.slice(5)}`;
  const message = (status: "in_progress" | "completed", text: string | null) => ({
    id: itemId,
    type: "message" as const,
    role: "assistant" as const,
    status,
    content: text === null ? [] : [outputText(text)],
  });
  const response = (
    status: "in_progress" | "completed" | "failed",
    text: string | null = null,
    approval: WaitingApproval | null = null,
  ) => ({
    id,
    object: "response" as const,
    created_at: created,
    status,
    ...(status === "completed" ? { completed_at: created } : {}),
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {
      agentd_session_id: s.sessionId,
      agentd_run_id: s.runId,
      agentd_conversation: s.conversation,
      ...(approval ? { agentd_approval_id: approval.id, agentd_approval_code: approval.code } : {}),
    },
    model: body.model,
    output: text === null ? [] : [message("completed", text)],
    output_text: text ?? "",
    parallel_tool_calls: false,
    temperature: null,
    tool_choice: "auto" as const,
    tools: [],
    top_p: null,
    access_programs: null,
    conversation: { id: s.conversation },
    previous_response_id: body.previous_response_id ?? null,
  });
  return { itemId, message, response };
}
