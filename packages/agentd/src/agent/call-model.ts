import type { StepContext } from "@agentd/kernel";
import type * as Ai from "ai";
import type { ModelMessage, Schema, ToolSet } from "ai";
import type { OfferedTool } from "../tools/types.ts";
import { loadAi } from "./ai-sdk.ts";
import { classifyModelError, type Models } from "./model.ts";

export interface ModelCall {
  id: string;
  name: string;
  input: unknown;
}

/** What a model step records: replayed instead of paid for again. */
export interface ModelResult {
  text: string;
  calls: ModelCall[];
  usage: { input: number; output: number };
  finish: string;
  /**
   * False: the usage is not in os_usage yet; the reply answering with this call counts it in its own
   * write, once. Absent (every call that asked for tools, and calls recorded before): counted by the step.
   */
  counted?: boolean;
}

/**
 * A built-in's input schema as the AI SDK makes it from zod, made once: the SDK converts a zod schema
 * to JSON Schema on every request it is given to (a tenth of a turn's CPU with every tool), while the
 * schema object it makes keeps its JSON once converted and validates with the same zod schema.
 */
const builtInSchemas = new WeakMap<object, Schema<unknown>>();
function builtInSchema(ai: typeof Ai, input: OfferedTool["input"]): Schema<unknown> {
  let s = builtInSchemas.get(input);
  if (!s) builtInSchemas.set(input, (s = ai.zodSchema(input) as Schema<unknown>));
  return s;
}

/**
 * The tools offered to a model call, as toolSet lists them. They become the AI SDK's tool set when
 * the call is made (the SDK is loaded on the first call, ai-sdk.ts), once per list.
 */
export interface ModelTools {
  readonly tools: readonly OfferedTool[];
  /** The SDK's tool set, made by the first call offered this list. */
  set?: ToolSet;
}

/** Tool definitions as the model sees them: name, one-line description, JSON schema (a tool from outside: as its server published it). */
export function toolSet(tools: OfferedTool[]): ModelTools {
  return { tools };
}

function sdkToolSet(ai: typeof Ai, tools: readonly OfferedTool[]): ToolSet {
  const set: ToolSet = {};
  for (const t of tools)
    set[t.name] = ai.tool({
      description: t.description,
      inputSchema: t.jsonSchema ? ai.jsonSchema(t.jsonSchema) : builtInSchema(ai, t.input),
    });
  return set;
}

/**
 * One model call, streamed: each text delta is published to the run's stream as it arrives, and the
 * text so far goes to `onText` (a channel's live view). Retries belong to the kernel (durable, with
 * backoff): the SDK makes none here.
 *
 * One call, not streamText: agentd runs the tools itself, as steps, so streamText's loop of steps,
 * its replay buffers and the stream stages it adds around the model's stream were work for nothing,
 * a third of a turn's CPU on SQLite. The SDK's single-call API is what streamText calls for each of
 * its steps, with the same arguments: the request is the same, byte for byte
 * (test/agent/call-model.test.ts), and tool calls are parsed and checked against their schema as
 * before.
 */
export async function callModel(
  models: Models,
  req: { instructions: string; messages: ModelMessage[]; tools: ModelTools },
  step: StepContext,
  onText?: (textSoFar: string) => void,
): Promise<ModelResult> {
  step.publish({ t: "start", attempt: step.attempt });
  onText?.("");
  const out: ModelResult = { text: "", calls: [], usage: { input: 0, output: 0 }, finish: "unknown" };
  try {
    const ai = await loadAi();
    req.tools.set ??= sdkToolSet(ai, req.tools.tools);
    const res = await ai.experimental_streamLanguageModelCall({
      model: models.chat,
      instructions: req.instructions,
      messages: req.messages,
      tools: req.tools.set,
      abortSignal: step.signal,
    });
    for await (const part of res.stream) {
      if (part.type === "text-delta") {
        if (!part.text) continue;
        out.text += part.text;
        step.publish({ t: "text", d: part.text });
        onText?.(out.text);
      } else if (part.type === "tool-call") {
        out.calls.push({ id: part.toolCallId, name: part.toolName, input: part.input });
      } else if (part.type === "error") {
        throw part.error;
      } else if (part.type === "model-call-end") {
        out.finish = part.finishReason;
        out.usage = { input: part.usage.inputTokens ?? 0, output: part.usage.outputTokens ?? 0 };
      }
    }
  } catch (e) {
    throw classifyModelError(e, models);
  }
  return out;
}
