import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import type { LanguageModel } from "ai";
import { leanChat } from "../../src/agent/openai-stream.ts";

// openai-stream.ts reads a plain streamed answer itself instead of through the OpenAI provider: these
// tests feed the provider and it the same bytes (cut at every kind of place) and hold the parts, the
// errors and the request sent to be the same.

type ChatModel = Extract<LanguageModel, { specificationVersion: "v4" }>;
type CallOptions = Parameters<ChatModel["doStream"]>[0];

const OPTIONS: CallOptions = {
  prompt: [
    { role: "system", content: "Be brief." },
    { role: "user", content: [{ type: "text", text: "Hi" }] },
  ],
};

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  /** The body, cut into pieces of these byte lengths (the rest in one piece). */
  body: string;
  cuts?: number[];
  /** The body's stream fails after its pieces. */
  failAfter?: boolean;
}

interface Sent {
  url: string;
  body: unknown;
  headers: unknown;
}

/** The provider's chat model answering every request with `answer`, recording what was sent. */
function model(answer: Answer, sent: Sent[]): ChatModel {
  const fetch = async (url: string | URL | Request, init?: RequestInit) => {
    sent.push({ url: String(url), body: init?.body, headers: init?.headers });
    const bytes = new TextEncoder().encode(answer.body);
    const pieces: Uint8Array[] = [];
    let at = 0;
    for (const n of answer.cuts ?? []) {
      pieces.push(bytes.slice(at, at + n));
      at += n;
    }
    pieces.push(bytes.slice(at));
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = pieces.shift();
        if (next) c.enqueue(next);
        else if (answer.failAfter) c.error(new TypeError("terminated"));
        else c.close();
      },
    });
    return new Response(body, {
      status: answer.status ?? 200,
      headers: { "content-type": "text/event-stream", ...answer.headers },
    });
  };
  return createOpenAI({ apiKey: "test-key", baseURL: "http://model.test/v1", name: "agentd", fetch }).chat("m");
}

type SomePart = { type: string; error?: unknown; delta?: string };

/**
 * What a call came to: its parts (errors by name and message) or the error it threw. Text-deltas in a
 * row are taken as one: the provider makes one a chunk, openai-stream.ts one a network read.
 */
async function outcome(m: ChatModel): Promise<unknown> {
  const parts: SomePart[] = [];
  try {
    const r = await m.doStream(OPTIONS);
    for await (const p of r.stream as unknown as AsyncIterable<SomePart>) {
      const last = parts.at(-1);
      if (p.type === "text-delta" && last?.type === "text-delta") last.delta += p.delta ?? "";
      else parts.push(p.type === "error" ? { type: "error", error: described(p.error) } : { ...p });
    }
    return { parts, request: r.request, response: r.response };
  } catch (e) {
    return { thrown: described(e), parts };
  }
}

/** The text-deltas of our reading, as they came (not merged). */
async function deltas(answer: Answer): Promise<string[]> {
  const r = await leanChat(model(answer, [])).doStream(OPTIONS);
  const out: string[] = [];
  for await (const p of r.stream as unknown as AsyncIterable<SomePart>)
    if (p.type === "text-delta") out.push(p.delta as string);
  return out;
}

const described = (e: unknown) =>
  e instanceof Error
    ? { name: e.name, message: e.message, status: (e as { statusCode?: number }).statusCode }
    : { value: e };

/**
 * The provider's outcome and ours for the same answer, held equal; `readings`: how many times the
 * provider read the answer for us (1: it sent the request and was shown an empty stream; 2: the
 * answer was handed back to it).
 */
async function same(answer: Answer, readings: 1 | 2): Promise<unknown> {
  const theirs: Sent[] = [];
  const ours: Sent[] = [];
  const expected = await outcome(model(answer, theirs));
  const real = model(answer, ours);
  let made = 0;
  let built = 0;
  const Model = real.constructor as new (...a: unknown[]) => ChatModel & { getArgs(o: unknown): Promise<unknown> };
  Object.setPrototypeOf(
    real,
    class extends Model {
      constructor(...a: unknown[]) {
        super(...a);
        made++;
      }
      override getArgs(o: unknown) {
        built++;
        return super.getArgs(o);
      }
    }.prototype,
  );
  const actual = await outcome(leanChat(real));
  assert.deepStrictEqual(actual, expected);
  assert.deepStrictEqual(ours, theirs);
  assert.equal(
    made,
    readings,
    `the provider read the answer ${made} times: ${JSON.stringify(answer.body.slice(0, 80))}`,
  );
  // The request is built once a reading: the parts made here take the provider's own body and warnings.
  assert.equal(built, readings);
  return actual;
}

const sse = (...events: unknown[]) =>
  events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`).join("");
const base = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1_700_000_000, model: "m" };
const delta = (d: object, finish: string | null = null) => ({
  ...base,
  choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finish }],
});
const usage = {
  ...base,
  choices: [],
  usage: {
    prompt_tokens: 11,
    completion_tokens: 3,
    total_tokens: 14,
    prompt_tokens_details: { cached_tokens: 2, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 1 },
    queue_time: 0.01,
  },
};
const text = sse(
  delta({ role: "assistant", content: "" }),
  delta({ content: "Hel" }),
  delta({ content: "lo é" }),
  delta({ content: " ✓" }),
  delta({}, "stop"),
  usage,
  "[DONE]",
);

describe("a streamed chat answer read by openai-stream.ts", () => {
  test("a plain answer: the same parts as the provider's, however the bytes are cut", async () => {
    const bytes = new TextEncoder().encode(text).length;
    for (let cut = 1; cut < bytes; cut += 7) await same({ body: text, cuts: [cut, 3, 1, 2] }, 1);
    const r = (await same({ body: text }, 1)) as { parts: { type: string; delta?: string }[] };
    assert.equal(
      r.parts
        .filter((p) => p.type === "text-delta")
        .map((p) => p.delta)
        .join(""),
      "Hello é ✓",
    );
  });

  test("the text of the chunks one read brings is one part; chunks read apart stay apart", async () => {
    // The whole answer in one read: one text-delta (the provider makes one of each of the 4 chunks).
    assert.deepEqual(await deltas({ body: text }), ["Hello é ✓"]);
    // Read at each event's end: a part per read (the role's empty text is read with the first text:
    // the stream is handed on at the first output).
    const events = text.split(/(?<=\n\n)/);
    const byEvent = events.map((e) => new TextEncoder().encode(e).length);
    assert.deepEqual(await deltas({ body: text, cuts: byEvent }), ["Hel", "lo é", " ✓"]);
    // Two events a read: the provider's parts two by two.
    const byPairs = [byEvent[0]! + byEvent[1]!, byEvent[2]! + byEvent[3]!];
    assert.deepEqual(await deltas({ body: text, cuts: byPairs }), ["Hel", "lo é ✓"]);
    // Handed back after text was passed on: what the provider re-reads is skipped by its own count.
    const toolAfterText = sse(
      delta({ content: "Let" }),
      delta({ content: " me" }),
      delta({ content: " look" }),
      delta({ tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "recall", arguments: "{}" } }] }),
      delta({}, "tool_calls"),
    );
    const first = new TextEncoder().encode(sse(delta({ content: "Let" }), delta({ content: " me" }))).length;
    assert.deepEqual(await deltas({ body: toolAfterText, cuts: [first] }), ["Let me", " look"]);
    await same({ body: toolAfterText, cuts: [first] }, 2);
  });

  test("finish reasons, no usage, comments, no [DONE], a role-only start", async () => {
    for (const finish of ["stop", "length", "content_filter", "tool_calls", "function_call", "other", null])
      await same({ body: sse(delta({ content: "a" }), delta({}, finish)) }, 1);
    await same({ body: `: keep-alive\n\n${sse(delta({ role: "assistant" }), delta({ content: "x" }, "stop"))}` }, 1);
    await same({ body: sse(delta({ content: "only" })) }, 1);
    await same({ body: sse({ choices: [{ index: 0, delta: { content: "no id" } }] }) }, 1);
    await same({ body: sse({ ...delta({ content: "zero" }), created: 0, id: null, model: null }) }, 1);
    await same({ body: "" }, 1);
  });

  test("what the provider reads otherwise is handed back to it, before or after the first output", async () => {
    const call = (args: string, id?: string) => ({
      tool_calls: [
        { index: 0, ...(id ? { id, type: "function" } : {}), function: { name: "remember", arguments: args } },
      ],
    });
    const cases = [
      // tool calls, after text and alone
      sse(
        delta({ content: "Let me" }),
        delta(call("", "call_1")),
        delta(call('{"fact":')),
        delta(call('"x"}')),
        delta({}, "tool_calls"),
      ),
      sse(delta({ role: "assistant", content: null }), delta(call('{"fact":"x"}', "call_1")), delta({}, "tool_calls")),
      // error frames, before and after output
      sse({ error: { message: "Rate limit reached", type: "rate_limit_exceeded", code: "rate_limit_exceeded" } }),
      sse(delta({ content: "so far" }), { error: { message: "The server had an error", type: "server_error" } }),
      // chunks the provider's schema refuses, or JSON it cannot parse
      sse(delta({ content: "a" }), { choices: [{ delta: { content: "no index" } }] }),
      sse(delta({ content: "a" }), "{not json"),
      sse("{not json", delta({ content: "b" })),
      sse(delta({ content: "a" }), { choices: [{ index: 0, delta: { role: "user", content: "b" } }] }),
      // a refusal, logprobs, annotations
      sse(delta({ refusal: "I can't" }), delta({}, "stop")),
      sse({
        ...base,
        choices: [{ index: 0, delta: { content: "a" }, logprobs: { content: [] }, finish_reason: "stop" }],
      }),
      // framing: CRLF, event names, two data lines, an unterminated last event, an empty data line
      text.replaceAll("\n", "\r\n"),
      `event: message\n${text}`,
      `data: {"choices":[{"index":0,\ndata: "delta":{"content":"x"}}]}\n\n${text}`,
      `${text}data: ${JSON.stringify(delta({ content: "late" }))}`,
      sse(delta({ content: "a" })).concat("data:\n\n"),
      // a property JSON.parse lets through and the provider refuses
      sse(delta({ content: "a" }), '{"__proto__":{"x":1},"choices":[]}'),
    ];
    for (const body of cases) {
      await same({ body }, 2);
      await same({ body, cuts: [5, 40, 1] }, 2);
    }
  });

  test("failed answers and a body that breaks are the provider's errors", async () => {
    await same(
      { status: 429, headers: { "retry-after": "3" }, body: '{"error":{"message":"slow down","type":"rate"}}' },
      1,
    );
    await same({ status: 401, body: '{"error":{"message":"bad key"}}' }, 1);
    await same({ status: 500, body: "oops" }, 1);
    await same({ body: sse(delta({ content: "cut" })), failAfter: true }, 2);
    await same({ body: "", failAfter: true }, 2);
  });
});
