import type { LanguageModel } from "ai";

type ModelV4 = Extract<LanguageModel, { specificationVersion: "v4" }>;
type CallOptions = Parameters<ModelV4["doStream"]>[0];
type StreamPart = Awaited<ReturnType<ModelV4["doStream"]>>["stream"] extends ReadableStream<infer P> ? P : never;

/** AGENTD_MODEL=echo selects it: no key, no server, nothing leaves the machine. */
export const ECHO_MODEL_ID = "echo";

/**
 * A built-in model for trying agentd before choosing a real one: it answers each message with
 * "echo: <the message>", streamed word by word, and never calls tools. Channels, pairing, durable
 * turns, the API and `agentd chat` all work with it; it understands nothing.
 */
export function echoModel(): ModelV4 {
  return {
    specificationVersion: "v4",
    provider: "agentd",
    modelId: ECHO_MODEL_ID,
    supportedUrls: {},
    async doGenerate(o) {
      const text = reply(o);
      return {
        content: [{ type: "text", text }],
        finishReason: { unified: "stop", raw: "stop" },
        usage: usage(o, text),
        warnings: [],
      };
    },
    async doStream(o) {
      const text = reply(o);
      const parts: StreamPart[] = [
        { type: "stream-start", warnings: [] },
        { type: "text-start", id: "0" },
        ...(text.match(/\S+\s*|\s+/g) ?? []).map((delta): StreamPart => ({ type: "text-delta", id: "0", delta })),
        { type: "text-end", id: "0" },
        { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage: usage(o, text) },
      ];
      return {
        stream: new ReadableStream<StreamPart>({
          start: (c) => {
            for (const p of parts) c.enqueue(p);
            c.close();
          },
        }),
      };
    },
  };
}

/** "echo: " and the text of the last user message (its attachments noted by the prompt already). */
function reply(o: CallOptions): string {
  const last = o.prompt.findLast((m) => m.role === "user");
  const text =
    last && last.role === "user"
      ? last.content
          .map((p) => (p.type === "text" ? p.text : ""))
          .join("")
          .trim()
      : "";
  return `echo: ${text || "(nothing to echo)"}`;
}

/** About four characters a token, so usage and budgets move as they would. */
function usage(o: CallOptions, text: string) {
  const input = Math.ceil(JSON.stringify(o.prompt).length / 4);
  const output = Math.ceil(text.length / 4);
  return {
    inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output, reasoning: undefined },
  };
}
