import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FatalError, RetryableError, type StepContext } from "@agentd/kernel";
import { type ModelMessage, streamText } from "ai";
import { z } from "zod";
import { callModel, type ModelTools, toolSet } from "../../src/agent/call-model.ts";
import { type Models, resolveModels } from "../../src/agent/model.ts";
import type { OfferedTool } from "../../src/tools/types.ts";
import { type ModelServer, startModelServer } from "../support/model-server.ts";

// callModel makes one call with the SDK's single-call API, not streamText: these tests hold the
// request to what streamText sends for the same call, byte for byte, and the result to what agentd
// read from streamText's parts.

const built: OfferedTool = {
  name: "remember",
  description: "Remember a fact.",
  input: z.object({ fact: z.string().min(1), tags: z.array(z.enum(["home", "work"])).optional() }),
  risk: "low",
  defaultDecision: "allow",
  run: async () => "ok",
};
const outside: OfferedTool = {
  name: "docs_search",
  description: "Search the docs.",
  input: z.unknown(),
  jsonSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"], additionalProperties: false },
  risk: "low",
  defaultDecision: "allow",
  run: async () => "ok",
};

const history: ModelMessage[] = [
  { role: "user", content: "Remember that I work at home" },
  {
    role: "assistant",
    content: [
      { type: "text", text: "Noted." },
      { type: "tool-call", toolCallId: "call_1", toolName: "remember", input: { fact: "works at home" } },
    ],
  },
  {
    role: "tool",
    content: [
      { type: "tool-result", toolCallId: "call_1", toolName: "remember", output: { type: "text", value: "ok" } },
    ],
  },
  {
    role: "user",
    content: [
      { type: "text", text: "Hi" },
      { type: "file", mediaType: "image/png", data: { type: "data", data: new Uint8Array([137, 80, 78, 71]) } },
    ],
  },
];

function fakeStep(): StepContext & { published: unknown[] } {
  const published: unknown[] = [];
  return {
    signal: new AbortController().signal,
    idempotencyKey: "run:1",
    attempt: 1,
    runId: "run",
    publish: (d: unknown) => void published.push(d),
    published,
  } as StepContext & { published: unknown[] };
}

describe("callModel", () => {
  let server: ModelServer;
  let models: Models;
  before(async () => {
    server = await startModelServer();
    models = resolveModels({ id: "stand-in", baseURL: server.url, apiKey: "test-key" }) as Models;
  });
  after(() => server.close());

  const request = (tools: ModelTools) => ({ instructions: "You are terse.", messages: history, tools });

  test("sends the request streamText sends for the same call, byte for byte, with and without tools", async () => {
    for (const offered of [[built, outside], []]) {
      server.reset();
      const tools = toolSet(offered);
      await callModel(models, request(tools), fakeStep());
      // streamText with the tool set callModel made (the same schema objects), its retries off as callModel's are.
      const res = streamText({
        model: models.chat,
        instructions: "You are terse.",
        messages: history,
        tools: tools.set ?? {},
        maxRetries: 0,
        onError: () => {},
      });
      for await (const _ of res.stream);
      const [ours, theirs] = server.requests.filter((r) => r.path === "/v1/chat/completions");
      assert.ok(ours && theirs);
      assert.equal(ours.raw, theirs.raw);
      assert.equal(ours.body.tools?.length, offered.length || undefined);
    }
  });

  test("reads text, tool calls, usage and the finish reason; publishes each delta", async () => {
    server.reset();
    server.script(
      { text: "Hello there", usage: { prompt: 11, completion: 3 } },
      {
        toolCalls: [{ name: "remember", arguments: { fact: "x" }, id: "call_9" }],
        usage: { prompt: 12, completion: 4 },
      },
    );
    const step = fakeStep();
    const texts: string[] = [];
    const a = await callModel(models, request(toolSet([built])), step, (t) => texts.push(t));
    assert.deepEqual(a, { text: "Hello there", calls: [], usage: { input: 11, output: 3 }, finish: "stop" });
    assert.equal(texts.at(-1), "Hello there");
    assert.deepEqual(step.published[0], { t: "start", attempt: 1 });
    assert.equal(
      step.published
        .slice(1)
        .map((p) => (p as { d: string }).d)
        .join(""),
      "Hello there",
    );
    const b = await callModel(models, request(toolSet([built])), fakeStep());
    assert.deepEqual(b.calls, [{ id: "call_9", name: "remember", input: { fact: "x" } }]);
    assert.deepEqual(b.usage, { input: 12, output: 4 });
    assert.equal(b.finish, "tool-calls");
  });

  test("a refused key fails at once; a server error and a broken stream are retried", async () => {
    server.reset();
    server.script({ status: 401 }, { status: 500 }, { text: "a long answer cut short", breakAfterChunks: 2 });
    await assert.rejects(callModel(models, request(toolSet([])), fakeStep()), FatalError);
    await assert.rejects(callModel(models, request(toolSet([])), fakeStep()), RetryableError);
    await assert.rejects(callModel(models, request(toolSet([])), fakeStep()), RetryableError);
  });
});
