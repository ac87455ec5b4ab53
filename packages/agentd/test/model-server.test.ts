import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, embed, embedMany, generateText, isStepCount, streamText, tool } from "ai";
import { z } from "zod";
import { startModelServer, type ModelServer } from "./support/model-server.ts";

const serverFile = new URL("./support/model-server.ts", import.meta.url).pathname;

async function withServer(
  t: { after: (fn: () => Promise<void>) => void },
  options?: Parameters<typeof startModelServer>[0],
) {
  const server = await startModelServer(options);
  t.after(() => server.close());
  return server;
}

const chat = (server: ModelServer, apiKey = "sk-test") =>
  createOpenAI({ baseURL: server.url, apiKey }).chat("gpt-4o-mini");

/**
 * Drains the full stream, as an agent loop would, and keeps every part for inspection. A failure
 * before any output arrives as an `error` part, but a connection cut mid-stream is thrown by the
 * iterator; both end up as an `error` part here (`thrown: true` for the latter).
 */
async function parts(result: { stream: AsyncIterable<any> }) {
  const out: any[] = [];
  try {
    for await (const part of result.stream) out.push(part);
  } catch (error) {
    out.push({ type: "error", error, thrown: true });
  }
  return out;
}

// streamText logs every error to the console by default; these tests provoke errors on purpose.
const onError = () => {};
const textDeltas = (all: any[]) =>
  all.filter((p) => p.type === "text-delta" && p.text !== "").map((p) => p.text as string);
const errorOf = (all: any[]) => all.find((p) => p.type === "error")?.error;

test("text streams token by token and usage arrives in the last chunk", async (t) => {
  const server = await withServer(t);
  server.script({ text: "Hello there, streaming world", usage: { prompt: 12, completion: 7 } });
  const all = await parts(
    streamText({ model: chat(server), instructions: "be brief", prompt: "hi", maxRetries: 0, onError }),
  );
  const deltas = textDeltas(all);
  assert.ok(deltas.length >= 6, `one delta per ~4 chars, got ${deltas.length}`);
  assert.equal(deltas.join(""), "Hello there, streaming world");
  const finish = all.find((p) => p.type === "finish");
  assert.equal(finish.finishReason, "stop");
  assert.equal(finish.totalUsage.inputTokens, 12);
  assert.equal(finish.totalUsage.outputTokens, 7);
  const sent = server.requests[0]!.body;
  assert.equal(sent.stream, true);
  assert.deepEqual(sent.stream_options, { include_usage: true });
  assert.deepEqual(sent.messages.at(-1), { role: "user", content: "hi" });
  assert.equal(server.requests[0]!.headers.authorization, "Bearer sk-test");
});

test("the fallback echoes the last user message; usage defaults to bytes/4 and chars/4", async (t) => {
  const server = await withServer(t);
  const streamed = streamText({ model: chat(server), prompt: "ping", maxRetries: 0 });
  assert.equal(await streamed.text, "ok: ping");
  const usage = await streamed.totalUsage;
  assert.equal(usage.inputTokens, Math.ceil(Buffer.byteLength(server.requests[0]!.raw) / 4));
  assert.equal(usage.outputTokens, 2);
  // Non-streaming (stream false) goes through the same script and fallback.
  server.fallback = () => ({ text: "whole answer" });
  const whole = await generateText({ model: chat(server), prompt: "again", maxRetries: 0 });
  assert.equal(whole.text, "whole answer");
  assert.equal(server.requests[1]!.body.stream, undefined);
  assert.equal(server.calls, 2);
  server.reset();
  assert.equal(server.calls, 0);
  assert.equal(server.requests.length, 0);
});

test("a scripted tool call arrives parsed, finishes with tool-calls, and its result goes back to the model", async (t) => {
  const server = await withServer(t);
  server.script({ toolCalls: [{ name: "lookup", arguments: { city: "Paris", days: 3 }, id: "call_abc" }] }, (req) => ({
    text: `weather: ${req.body.messages.at(-1).content}`,
  }));
  const lookup = tool({
    description: "weather",
    inputSchema: z.object({ city: z.string(), days: z.number() }),
    execute: async ({ city }) => `sunny in ${city}`,
  });
  const result = streamText({
    model: chat(server),
    prompt: "weather?",
    tools: { lookup },
    stopWhen: isStepCount(2),
    maxRetries: 0,
  });
  const all = await parts(result);
  const call = all.find((p) => p.type === "tool-call");
  assert.equal(call.toolName, "lookup");
  assert.equal(call.toolCallId, "call_abc");
  assert.deepEqual(call.input, { city: "Paris", days: 3 });
  assert.ok(all.filter((p) => p.type === "tool-input-delta").length > 1, "arguments stream in pieces");
  const steps = await result.steps;
  assert.equal(steps[0]!.finishReason, "tool-calls");
  assert.equal(await result.text, "weather: sunny in Paris");
  const toolMessage = server.requests[1]!.body.messages.at(-1);
  assert.equal(toolMessage.role, "tool");
  assert.equal(toolMessage.tool_call_id, "call_abc");
  assert.equal(server.requests[0]!.body.tools[0].function.name, "lookup");
});

test("tool-call arguments given as a raw string are sent as-is, so bad JSON reaches the SDK", async (t) => {
  const server = await withServer(t);
  server.script({ toolCalls: [{ name: "lookup", arguments: '{"city": "Par' }] });
  const lookup = tool({ inputSchema: z.object({ city: z.string() }) });
  const all = await parts(streamText({ model: chat(server), prompt: "x", tools: { lookup }, maxRetries: 0, onError }));
  const inputs = all
    .filter((p) => p.type === "tool-input-delta")
    .map((p) => p.delta)
    .join("");
  assert.equal(inputs, '{"city": "Par');
  // The SDK reports an invalid call (not a stream error) followed by a tool-error the model can see.
  const call = all.find((p) => p.type === "tool-call");
  assert.equal(call.invalid, true);
  assert.equal(call.error.name, "AI_InvalidToolInputError");
  assert.ok(all.some((p) => p.type === "tool-error"));
});

test("a wrong API key gets 401 invalid_api_key, a failure with no retry", async (t) => {
  const server = await withServer(t, { apiKey: "sk-right" });
  await assert.rejects(
    generateText({ model: chat(server, "sk-wrong"), prompt: "x", maxRetries: 0 }),
    (error: unknown) => {
      assert.ok(APICallError.isInstance(error));
      assert.equal(error.statusCode, 401);
      assert.equal(error.isRetryable, false);
      assert.doesNotMatch(error.message, /sk-wrong/, "the key never appears in the message");
      return true;
    },
  );
  const streamed = await parts(streamText({ model: chat(server, "sk-wrong"), prompt: "x", maxRetries: 0, onError }));
  assert.equal(errorOf(streamed)?.statusCode, 401);
  assert.equal(await streamText({ model: chat(server, "sk-right"), prompt: "y", maxRetries: 0 }).text, "ok: y");
  assert.equal(server.calls, 3);
});

test("429 and 500 are retryable API errors; a retry after a 500 succeeds", async (t) => {
  const server = await withServer(t);
  server.script({ status: 429, retryAfterSeconds: 0 });
  const limited = errorOf(await parts(streamText({ model: chat(server), prompt: "x", maxRetries: 0, onError })));
  assert.ok(APICallError.isInstance(limited));
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.isRetryable, true);
  assert.equal(limited.responseHeaders?.["retry-after"], "0");
  assert.match(limited.message, /Rate limit/);
  server.script({ status: 500 });
  const failed = errorOf(await parts(streamText({ model: chat(server), prompt: "x", maxRetries: 0, onError })));
  assert.equal(failed.statusCode, 500);
  // Retry-After: 0 lets the SDK retry at once instead of after its 2 s backoff.
  server.script({ status: 500, retryAfterSeconds: 0 }, { text: "recovered" });
  assert.equal(await streamText({ model: chat(server), prompt: "x", maxRetries: 1 }).text, "recovered");
  assert.equal(server.calls, 4);
});

test("a broken stream surfaces as an error after the chunks that made it", async (t) => {
  const server = await withServer(t);
  server.script({ text: "abcdefghijklmnop", breakAfterChunks: 2 });
  const all = await parts(streamText({ model: chat(server), prompt: "x", maxRetries: 0, onError }));
  assert.equal(textDeltas(all).join(""), "abcdefgh");
  const cut = all.at(-1);
  assert.equal(cut.thrown, true, "after output, the cut connection is thrown by the stream");
  assert.ok(APICallError.isInstance(cut.error));
  assert.equal(cut.error.isRetryable, true);
  // Broken before any output: the request itself fails.
  server.script({ text: "abcd", breakAfterChunks: 0 });
  assert.ok(errorOf(await parts(streamText({ model: chat(server), prompt: "x", maxRetries: 0, onError }))));
});

test("a stalled stream holds until the client aborts, and close() ends it", async (_t) => {
  const server = await startModelServer({ tokenDelayMs: 1 });
  server.script({ text: "abcdefgh", stallAfterChunks: 1, firstTokenDelayMs: 20 });
  const started = Date.now();
  const result = streamText({ model: chat(server), prompt: "x", maxRetries: 0, abortSignal: AbortSignal.timeout(300) });
  const all = await parts(result);
  assert.deepEqual(textDeltas(all), ["abcd"]);
  assert.ok(Date.now() - started >= 250, "nothing more arrived until the abort");
  assert.ok(all.some((p) => p.type === "abort" || p.type === "error"));
  server.script({ text: "abcd", stallAfterChunks: 0 });
  const pending = parts(streamText({ model: chat(server), prompt: "x", maxRetries: 0, onError }));
  while (server.calls < 2) await new Promise((r) => setTimeout(r, 5));
  await server.close(); // must not wait for the stalled socket
  assert.ok(errorOf(await pending));
});

test("embeddings are deterministic, normalised, and near for similar texts", async (t) => {
  const server = await withServer(t);
  const model = createOpenAI({ baseURL: server.url, apiKey: "k" }).embedding("text-embedding-3-small");
  const { embedding } = await embed({ model, value: "the cat sat on the mat", maxRetries: 0 });
  assert.equal(embedding.length, 64);
  assert.ok(Math.abs(Math.hypot(...embedding) - 1) < 1e-9);
  const { embeddings } = await embedMany({
    model,
    values: ["the cat sat on the mat", "a cat on a mat", "stock prices fell sharply"],
    maxRetries: 0,
  });
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
  assert.deepEqual(embeddings[0], embedding);
  assert.ok(dot(embeddings[0]!, embeddings[1]!) > dot(embeddings[0]!, embeddings[2]!));
  assert.equal(server.calls, 0, "calls counts chat completions only");
  const listed = (await (await fetch(`${server.url}/models`)).json()) as { object: string; data: unknown[] };
  assert.equal(listed.object, "list");
  assert.ok(listed.data.length > 0);
});

test("as a separate process it prints its URL and is driven over /__script and /__stats", async (t) => {
  const child = spawn(process.execPath, [serverFile, "--port", "0", "--token-delay-ms", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => void child.kill());
  const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  const { url } = JSON.parse(line) as { url: string };
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  const origin = new URL(url).origin;
  await fetch(`${origin}/__script`, { method: "POST", body: JSON.stringify([{ text: "from the script" }]) });
  const server = { url } as ModelServer;
  assert.equal(await streamText({ model: chat(server), prompt: "x", maxRetries: 0 }).text, "from the script");
  assert.equal(await streamText({ model: chat(server), prompt: "y", maxRetries: 0 }).text, "ok: y");
  assert.deepEqual(await (await fetch(`${origin}/__stats`)).json(), { calls: 2, requests: 2 });
});
