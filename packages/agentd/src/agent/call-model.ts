import type { StepContext } from "@agentd/kernel";
import { jsonSchema, type ModelMessage, type Schema, streamText, tool as aiTool, type ToolSet, zodSchema } from "ai";
import type { OfferedTool } from "../tools/types.ts";
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
function builtInSchema(input: OfferedTool["input"]): Schema<unknown> {
  let s = builtInSchemas.get(input);
  if (!s) builtInSchemas.set(input, (s = zodSchema(input) as Schema<unknown>));
  return s;
}

/** Tool definitions as the model sees them: name, one-line description, JSON schema (a tool from outside: as its server published it). */
export function toolSet(tools: OfferedTool[]): ToolSet {
  const set: ToolSet = {};
  for (const t of tools)
    set[t.name] = aiTool({
      description: t.description,
      inputSchema: t.jsonSchema ? jsonSchema(t.jsonSchema) : builtInSchema(t.input),
    });
  return set;
}

/**
 * One model call, streamed: each text delta is published to the run's stream as it arrives, and the
 * text so far goes to `onText` (a channel's live view). Retries belong to the kernel (durable, with
 * backoff), so the SDK's own are off.
 */
export async function callModel(
  models: Models,
  req: { instructions: string; messages: ModelMessage[]; tools: ToolSet },
  step: StepContext,
  onText?: (textSoFar: string) => void,
): Promise<ModelResult> {
  step.publish({ t: "start", attempt: step.attempt });
  onText?.("");
  const out: ModelResult = { text: "", calls: [], usage: { input: 0, output: 0 }, finish: "unknown" };
  try {
    const res = streamText({
      model: models.chat,
      instructions: req.instructions,
      messages: req.messages,
      tools: req.tools,
      maxRetries: 0,
      abortSignal: step.signal,
      onError: () => {},
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
      } else if (part.type === "finish") {
        out.finish = part.finishReason;
        out.usage = { input: part.totalUsage.inputTokens ?? 0, output: part.totalUsage.outputTokens ?? 0 };
      }
    }
  } catch (e) {
    throw classifyModelError(e, models);
  }
  return out;
}
