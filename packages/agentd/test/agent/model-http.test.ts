import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createOpenAI } from "@ai-sdk/openai";
import type { LanguageModel } from "ai";
import { leanChat } from "../../src/agent/openai-stream.ts";

// Once a model's first streamed call has shown the provider's URL and headers, agent/openai-stream.ts
// sends its later calls over node:http (agent/model-http.ts), not through the provider and fetch.
// These tests hold such a call to the provider's own on a real socket: the request the server gets
// (body, and headers but those fetch alone adds), the parts, the errors, the response's headers.

type ChatModel = Extract<LanguageModel, { specificationVersion: "v4" }>;
type CallOptions = Parameters<ChatModel["doStream"]>[0];
const OPTIONS: CallOptions = { prompt: [{ role: "user", content: [{ type: "text", text: "Hi" }] }] };

interface Answer {
  status?: number;
  headers?: Record<string, string>;
  /** Sent in these pieces, 5 ms apart. */
  pieces: string[];
  /** The connection is cut after the pieces. */
  cut?: boolean;
}
interface Received {
  headers: Record<string, string | string[] | undefined>;
  raw: string;
}

/** Headers fetch adds of its own (node:http sends none of them: no compressed answers to undo). */
const FETCH_ONLY = ["accept", "accept-language", "sec-fetch-mode", "accept-encoding"];

const sse = (...events: unknown[]) => events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`);
const base = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1_700_000_000, model: "m" };
const delta = (d: object, finish: string | null = null) => ({
  ...base,
  choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finish }],
});
const usage = { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } };
const plain = sse(delta({ role: "assistant", content: "" }), delta({ content: "Hel" }), delta({ content: "lo" }));
const TEXT: Answer = { pieces: [...plain, ...sse(delta({}, "stop"), usage, "[DONE]")] };

const described = (e: unknown) =>
  e instanceof Error
    ? { name: e.name, message: e.message, status: (e as { statusCode?: number }).statusCode }
    : { value: e };

type SomePart = { type: string; error?: unknown; delta?: string };
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

describe("a learned model's calls over node:http", () => {
  let answer: Answer = TEXT;
  let redirect = false;
  const received: Received[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let raw = "";
    for await (const b of req) raw += b;
    received.push({ headers: req.headers, raw });
    res.sendDate = false;
    if (redirect && req.url?.startsWith("/v1/")) {
      res.writeHead(307, { location: `/moved${req.url}` });
      return void res.end();
    }
    res.writeHead(answer.status ?? 200, { "content-type": "text/event-stream", ...answer.headers });
    for (const p of answer.pieces) {
      res.write(p);
      await sleep(5);
    }
    if (answer.cut) res.socket?.destroy();
    else res.end();
  });
  let url = "";
  before(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const provider = () => createOpenAI({ apiKey: "test-key", baseURL: url, name: "agentd" }).chat("m") as ChatModel;

  /** The provider's outcome and a learned lean model's for `a`, held equal, and the requests the server got. */
  async function same(lean: ChatModel, a: Answer): Promise<unknown> {
    answer = a;
    received.length = 0;
    const expected = await outcome(provider());
    const actual = await outcome(lean);
    assert.deepStrictEqual(actual, expected, JSON.stringify(a.pieces).slice(0, 120));
    const [theirs, ours] = received as [Received, Received];
    assert.equal(ours.raw, theirs.raw);
    const drop = (h: Received["headers"]) =>
      Object.fromEntries(Object.entries(h).filter(([k]) => !FETCH_ONLY.includes(k)));
    assert.deepStrictEqual(drop(ours.headers), drop(theirs.headers));
    return actual;
  }

  test("the first call goes through fetch; the later ones do not, and come to what the provider makes", async () => {
    const lean = leanChat(provider());
    const real = globalThis.fetch;
    let fetched = 0;
    globalThis.fetch = (...a: Parameters<typeof fetch>) => (fetched++, real(...a));
    try {
      answer = TEXT;
      await outcome(lean);
      assert.equal(fetched, 1, "the first call learns through fetch");
      fetched = 0;
      await same(lean, TEXT);
      assert.equal(fetched, 1, "only the provider's own call fetched");
    } finally {
      globalThis.fetch = real;
    }
    // The text of a piece apart, of two pieces together.
    await same(lean, { pieces: [plain.join(""), ...sse(delta({ content: "!" }, "stop"), "[DONE]")] });
    // Handed back to the provider: a tool call after text, an error frame, a refusal.
    const call = { tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] };
    await same(lean, { pieces: [...plain, ...sse(delta(call), delta({}, "tool_calls"), "[DONE]")] });
    await same(lean, { pieces: sse({ error: { message: "Rate limit reached", type: "rate_limit_exceeded" } }) });
    await same(lean, { pieces: [...plain, ...sse({ error: { message: "boom", type: "server_error" } })] });
    await same(lean, { pieces: sse(delta({ refusal: "no" }), delta({}, "stop")) });
  });

  test("an endpoint that redirects: the call goes again through fetch, which follows, and so do the later ones", async () => {
    const lean = leanChat(provider());
    answer = TEXT;
    await outcome(lean);
    redirect = true;
    try {
      received.length = 0;
      const expected = await outcome(provider());
      assert.equal(received.length, 2, "fetch follows the redirect");
      received.length = 0;
      assert.deepStrictEqual(await outcome(lean), expected);
      assert.equal(received.length, 3, "sent over node:http, redirected, then through fetch");
      received.length = 0;
      assert.deepStrictEqual(await outcome(lean), expected);
      assert.equal(received.length, 2, "through fetch from then on");
    } finally {
      redirect = false;
    }
  });

  test("failed answers, a body cut short and a refused connection are the provider's errors", async () => {
    const lean = leanChat(provider());
    answer = TEXT;
    await outcome(lean);
    const r429 = (await same(lean, {
      status: 429,
      headers: { "content-type": "application/json", "retry-after": "3" },
      pieces: ['{"error":{"message":"slow down","type":"rate"}}'],
    })) as { thrown: { status: number } };
    assert.equal(r429.thrown.status, 429);
    await same(lean, { status: 500, headers: { "content-type": "text/plain" }, pieces: ["oops"] });
    await same(lean, { status: 401, headers: { "content-type": "application/json" }, pieces: ['{"error":{}}'] });
    await same(lean, { pieces: [...plain], cut: true });
    await same(lean, { pieces: [], cut: true });
    // Nothing listens any more: fetch's "Cannot connect" from both.
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    const theirs = await outcome(provider());
    const ours = (await outcome(lean)) as { thrown: { message: string } };
    assert.deepStrictEqual(ours, theirs);
    assert.match(ours.thrown.message, /Cannot connect to API: connect ECONNREFUSED/);
  });
});
