// Type test (tsc only): what the OpenAI-compatible endpoint answers is assignable to the official
// SDK's own types, so its clients read every field they expect with the type they expect.
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { Response, ResponseOutputMessage } from "openai/resources/responses/responses";
import { chatShape } from "../../src/openai/chat.ts";
import { responseShape } from "../../src/openai/responses.ts";

const started = { runId: "r", sessionId: "s", conversation: "c" };
const shape = responseShape(started, { model: "agentd", input: "x" }, 0);
export const completed: Response = shape.response("completed", "text", null);
export const progress: Response = shape.response("in_progress");
export const message: ResponseOutputMessage = shape.message("completed", "text");

const chat = chatShape("chatcmpl-r", 0, "agentd");
export const whole: ChatCompletion = chat.whole("text");
export const chunk: ChatCompletionChunk = chat.chunk({ content: "t" }, null);
export const last: ChatCompletionChunk = chat.chunk({}, "stop");
