import { ChatRequest } from "../../openai/chat.ts";
import { ResponsesRequest } from "../../openai/responses.ts";
import type { Operation } from "./types.ts";

/** The OpenAI-compatible endpoint (src/openai): the tenant's agent for OpenAI's clients; errors in OpenAI's shape. */
export const OPENAI: Operation[] = [
  {
    method: "get",
    path: "/openai/v1/models",
    who: "tenant",
    summary: 'OpenAI-compatible: the agents the tenant can talk to (model "agentd")',
    ok: { status: 200, description: "{ object: 'list', data: [{ id, object: 'model', created, owned_by }] }" },
  },
  {
    method: "post",
    path: "/openai/v1/chat/completions",
    who: "tenant",
    summary:
      "OpenAI-compatible: the last user message to the agent, in the conversation of X-Agentd-Conversation or `user` (the session keeps the history)",
    body: ChatRequest,
    ok: {
      status: 200,
      description:
        "a chat.completion, or with stream: true chat.completion.chunk events ending with data: [DONE]; a tool call waiting for approval ends the answer with how to decide it",
      sse: true,
    },
  },
  {
    method: "post",
    path: "/openai/v1/responses",
    who: "tenant",
    summary:
      "OpenAI-compatible Responses API: the input to the agent, in the conversation of X-Agentd-Conversation, `conversation`, `previous_response_id` or `user`",
    body: ResponsesRequest,
    ok: {
      status: 200,
      description:
        "a Response, or with stream: true the Responses stream events (response.created … response.completed); a waiting approval is in metadata.agentd_approval_id",
      sse: true,
    },
  },
];
