/** The OpenAI-compatible endpoint, driven by the official `openai` client and the AI SDK's `@ai-sdk/openai`. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import OpenAI from "openai";
import { served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { conversation } from "./conversation.ts";

type Served = Awaited<ReturnType<typeof served>>;

const clientOf = (s: Served, key = s.key, headers: Record<string, string> = {}) =>
  new OpenAI({ apiKey: key, baseURL: `${s.url}/openai/v1`, maxRetries: 0, defaultHeaders: headers });

for (const b of BACKENDS) {
  describe(`OpenAI-compatible endpoint (${b.name})`, () => {
    test("models, chat completions whole and streamed with the official client: one agentd session per conversation, errors in OpenAI's shape", async (t) => {
      const s = await served(t, b);
      const openai = clientOf(s);
      const models = await openai.models.list();
      assert.deepEqual(
        models.data.map((m) => [m.id, m.object, m.owned_by]),
        [["agentd", "model", s.tenantId]],
      );

      const whole = await openai.chat.completions.create({
        model: "agentd",
        messages: [{ role: "user", content: "Hello there" }],
        user: "ada",
        temperature: 0.2, // ignored, as any parameter agentd does not read
      });
      assert.equal(whole.object, "chat.completion");
      assert.equal(whole.choices[0]?.message.content, "ok: Hello there");
      assert.equal(whole.choices[0]?.finish_reason, "stop");
      assert.match(whole.id, /^chatcmpl-/);

      s.model.script({ text: "Streaming through the official client.", tokenDelayMs: 5 });
      const stream = await openai.chat.completions.create({
        model: "agentd",
        // A client resends the whole history; agentd's session keeps its own, so only the last user message is new.
        messages: [
          { role: "system", content: "ignored: the agent has its own instructions" },
          { role: "user", content: "Hello there" },
          { role: "assistant", content: "ok: Hello there" },
          { role: "user", content: [{ type: "text", text: "and now stream" }] },
        ],
        user: "ada",
        stream: true,
      });
      const deltas: string[] = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        assert.equal(chunk.object, "chat.completion.chunk");
        const c = chunk.choices[0];
        if (c?.delta.content) deltas.push(c.delta.content);
        if (c?.finish_reason) finish = c.finish_reason;
      }
      assert.ok(deltas.length >= 3, `${deltas.length} deltas`);
      assert.equal(deltas.join(""), "Streaming through the official client.");
      assert.equal(finish, "stop");
      // The second turn saw the first exchange from agentd's session, not from the resent history.
      const seen = s.model.requests.at(-1)?.body.messages.map((m: { role: string }) => m.role);
      assert.deepEqual(seen, ["system", "user", "assistant", "user"]);
      assert.deepEqual(await conversation(s, "ada"), [
        ["user", "Hello there"],
        ["assistant", "ok: Hello there"],
        ["user", "and now stream"],
        ["assistant", "Streaming through the official client."],
      ]);

      // The header names the conversation over `user`.
      const other = clientOf(s, s.key, { "x-agentd-conversation": "grace" });
      await other.chat.completions.create({
        model: "agentd",
        messages: [{ role: "user", content: "Hi" }],
        user: "ada",
      });
      assert.deepEqual(await conversation(s, "grace"), [
        ["user", "Hi"],
        ["assistant", "ok: Hi"],
      ]);

      const bad = await clientOf(s, "not-a-key")
        .models.list()
        .catch((e: unknown) => e);
      assert.ok(bad instanceof OpenAI.AuthenticationError, String(bad));
      assert.equal(bad.status, 401);
      assert.equal(bad.type, "authentication_error");
      assert.match(bad.message, /API key/);
      const unknown = await openai.chat.completions
        .create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] })
        .catch((e: unknown) => e);
      assert.ok(unknown instanceof OpenAI.NotFoundError, String(unknown));
      assert.equal(unknown.code, "model_not_found");
      assert.equal(unknown.param, "model");
      const empty = await openai.chat.completions
        .create({ model: "agentd", messages: [{ role: "user", content: "  " }] })
        .catch((e: unknown) => e);
      assert.ok(empty instanceof OpenAI.BadRequestError, String(empty));
      assert.equal(empty.type, "invalid_request_error");
      assert.match(empty.message, /no text/);
      const malformed = await fetch(`${s.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "agentd", messages: "hello" }),
      });
      assert.equal(malformed.status, 400);
      const body = (await malformed.json()) as { error: { type: string; message: string } };
      assert.equal(body.error.type, "invalid_request_error");
      assert.match(body.error.message, /messages/);
      const nowhere = await fetch(`${s.url}/openai/v1/embeddings`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.key}` },
      });
      assert.equal(nowhere.status, 404);
      assert.equal(((await nowhere.json()) as { error: { type: string } }).error.type, "invalid_request_error");
    });

    test("the Responses API with the official client: created, text deltas, completed; previous_response_id continues the session", async (t) => {
      const s = await served(t, b);
      const openai = clientOf(s);
      const first = await openai.responses.create({ model: "agentd", input: "First question", conversation: "work" });
      assert.equal(first.object, "response");
      assert.equal(first.status, "completed");
      assert.equal(first.output_text, "ok: First question");
      assert.equal(first.conversation?.id, "work");

      s.model.script({ text: "Responses stream well.", tokenDelayMs: 5 });
      const stream = openai.responses.stream({
        model: "agentd",
        input: [{ role: "user", content: [{ type: "input_text", text: "Second question" }] }],
        previous_response_id: first.id,
      });
      const types: string[] = [];
      const deltas: string[] = [];
      stream.on("event", (e) => types.push(e.type));
      stream.on("response.output_text.delta", (e) => deltas.push(e.delta));
      const final = await stream.finalResponse();
      assert.equal(final.output_text, "Responses stream well.");
      assert.equal(deltas.join(""), "Responses stream well.");
      assert.deepEqual(
        [...new Set(types)],
        [
          "response.created",
          "response.in_progress",
          "response.output_item.added",
          "response.content_part.added",
          "response.output_text.delta",
          "response.output_text.done",
          "response.content_part.done",
          "response.output_item.done",
          "response.completed",
        ],
      );
      assert.deepEqual(await conversation(s, "work"), [
        ["user", "First question"],
        ["assistant", "ok: First question"],
        ["user", "Second question"],
        ["assistant", "Responses stream well."],
      ]);
      const notOurs = await openai.responses
        .create({ model: "agentd", input: "x", previous_response_id: "resp_00000000-0000-7000-8000-000000000000" })
        .catch((e: unknown) => e);
      assert.ok(notOurs instanceof OpenAI.NotFoundError, String(notOurs));
    });

    test("the AI SDK's @ai-sdk/openai: generateText over chat completions, streamText over the Responses API", async (t) => {
      const s = await served(t, b);
      const provider = createOpenAI({
        baseURL: `${s.url}/openai/v1`,
        apiKey: s.key,
        headers: { "x-agentd-conversation": "sdk" },
      });
      const whole = await generateText({ model: provider.chat("agentd"), prompt: "Hello SDK", maxRetries: 0 });
      assert.equal(whole.text, "ok: Hello SDK");
      assert.equal(whole.finishReason, "stop");
      s.model.script({ text: "The SDK streams too.", tokenDelayMs: 5 });
      const streamed = streamText({ model: provider.responses("agentd"), prompt: "Stream SDK", maxRetries: 0 });
      const parts: string[] = [];
      for await (const d of streamed.textStream) parts.push(d);
      assert.equal(parts.join(""), "The SDK streams too.");
      assert.ok(parts.length >= 3, `${parts.length} parts`);
      assert.equal(await streamed.finishReason, "stop");
      assert.deepEqual(await conversation(s, "sdk"), [
        ["user", "Hello SDK"],
        ["assistant", "ok: Hello SDK"],
        ["user", "Stream SDK"],
        ["assistant", "The SDK streams too."],
      ]);
    });

    test("a tool call waiting for approval ends the answer with how to decide; 'YES <code>' decides it and streams the rest of that turn", async (t) => {
      const s = await served(t, b);
      assert.equal((await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } })).status, 200);
      s.model.script(
        { text: "Let me note that.", toolCalls: [{ name: "remember", arguments: { content: "the sky is teal" } }] },
        { text: "Saved it.", tokenDelayMs: 5 },
      );
      const openai = clientOf(s);
      let text = "";
      for await (const chunk of await openai.chat.completions.create({
        model: "agentd",
        messages: [{ role: "user", content: "remember the sky" }],
        user: "ada",
        stream: true,
      }))
        text += chunk.choices[0]?.delta.content ?? "";
      const pending = (await s.call("GET", "/v1/approvals")).body.approvals[0];
      assert.equal(pending.tool, "remember");
      assert.ok(text.startsWith("Let me note that.\n\nagentd asks before running remember:"), text);
      assert.ok(text.includes(`Reply "YES ${pending.code}"`), text);
      assert.ok(text.includes(`POST /v1/approvals/${pending.id}`), text);

      // Another message meanwhile is kept and queued; the answer says what it waits for, at once.
      const queued = await openai.chat.completions.create({
        model: "agentd",
        messages: [{ role: "user", content: "anything else?" }],
        user: "ada",
      });
      assert.match(
        queued.choices[0]?.message.content ?? "",
        /kept and will be answered once an earlier request is decided/,
      );
      assert.ok(queued.choices[0]?.message.content?.includes(`YES ${pending.code}`));

      const rest = await openai.responses.create({ model: "agentd", input: `yes ${pending.code}`, user: "ada" });
      assert.equal(rest.output_text, "Saved it.");
      assert.equal(rest.metadata?.agentd_run_id, pending.runId);
      const memories = (await s.call("GET", "/v1/memory")).body.memories;
      assert.deepEqual(
        memories.map((m: { content: string }) => m.content),
        ["the sky is teal"],
      );
      assert.equal((await s.call("GET", `/v1/approvals?status=approved`)).body.approvals[0].decidedBy, "api");
      // The queued message is answered after the decision (its turn waited behind the first).
      const history = await waitFor(async () => {
        const h = await conversation(s, "ada");
        return h.length === 4 ? h : null;
      }, "the queued message's answer");
      assert.deepEqual(history, [
        ["user", "remember the sky"],
        ["user", "anything else?"],
        ["assistant", "Saved it."],
        ["assistant", "ok: anything else?"],
      ]);
    });

    test("a client that disconnects mid-stream: the turn completes and its reply is kept in the conversation", async (t) => {
      const s = await served(t, b);
      const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
      s.model.script({ text: words, tokenDelayMs: 25 });
      const openai = clientOf(s);
      const stream = await openai.chat.completions.create({
        model: "agentd",
        messages: [{ role: "user", content: "a long answer please" }],
        user: "leaver",
        stream: true,
      });
      let got = "";
      let runId = "";
      for await (const chunk of stream) {
        // agentd adds its own ids to the first chunk (clients ignore fields they do not know).
        runId ||= (chunk as unknown as { agentd?: { run_id: string } }).agentd?.run_id ?? "";
        got += chunk.choices[0]?.delta.content ?? "";
        if (got.length > 10) {
          stream.controller.abort();
          break;
        }
      }
      assert.ok(got.length < words.length, "left before the end");
      const out = await s.app.kernel.result<{ text: string; stopped: string }>(runId);
      assert.deepEqual([out.text, out.stopped], [words, "answer"]);
      assert.deepEqual(await conversation(s, "leaver"), [
        ["user", "a long answer please"],
        ["assistant", words],
      ]);
    });
  });
}
