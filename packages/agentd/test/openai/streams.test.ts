/**
 * The OpenAI-compatible endpoint's other halves: the AI SDK's @ai-sdk/openai streaming over chat
 * completions and whole over the Responses API (and parameters no client sends, ignored); an approval in a Responses stream; a turn
 * that fails; a client leaving a Responses stream mid-way (the official `openai` client for the last three).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import OpenAI from "openai";
import { served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { conversation } from "./conversation.ts";

for (const b of BACKENDS) {
  describe(`OpenAI-compatible endpoint, streams (${b.name})`, () => {
    test("the AI SDK's @ai-sdk/openai: streamText over chat completions, generateText over the Responses API; unknown parameters ignored", async (t) => {
      const s = await served(t, b);
      const provider = createOpenAI({
        baseURL: `${s.url}/openai/v1`,
        apiKey: s.key,
        headers: { "x-agentd-conversation": "sdk2" },
      });
      s.model.script({ text: "Chat chunks through the SDK.", tokenDelayMs: 5 });
      const streamed = streamText({ model: provider.chat("agentd"), prompt: "Stream chat", maxRetries: 0 });
      const parts: string[] = [];
      for await (const d of streamed.textStream) parts.push(d);
      assert.equal(parts.join(""), "Chat chunks through the SDK.");
      assert.ok(parts.length >= 3, `${parts.length} parts`);
      assert.equal(await streamed.finishReason, "stop");
      const whole = await generateText({
        model: provider.responses("agentd"),
        prompt: "Whole response",
        maxRetries: 0,
      });
      assert.equal(whole.text, "ok: Whole response");
      assert.equal(whole.finishReason, "stop");
      // A parameter no OpenAI client sends is ignored too, on both APIs.
      for (const [path, body] of [
        ["chat/completions", { messages: [{ role: "user", content: "odd" }] }],
        ["responses", { input: "odd" }],
      ] as const) {
        const res = await fetch(`${s.url}/openai/v1/${path}`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${s.key}`,
            "content-type": "application/json",
            "x-agentd-conversation": "odd",
          },
          body: JSON.stringify({ model: "agentd", ...body, frobnicate: { level: 11 }, seed: 7 }),
        });
        assert.equal(res.status, 200, await res.clone().text());
      }
      assert.deepEqual(await conversation(s, "sdk2"), [
        ["user", "Stream chat"],
        ["assistant", "Chat chunks through the SDK."],
        ["user", "Whole response"],
        ["assistant", "ok: Whole response"],
      ]);
    });

    test("a Responses stream that reaches an approval says how to decide it, and its Response names the approval", async (t) => {
      const s = await served(t, b);
      assert.equal((await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } })).status, 200);
      s.model.script(
        { text: "Noting it.", toolCalls: [{ name: "remember", arguments: { content: "the sea is green" } }] },
        { text: "Noted." },
      );
      const openai = new OpenAI({ apiKey: s.key, baseURL: `${s.url}/openai/v1`, maxRetries: 0 });
      const stream = openai.responses.stream({ model: "agentd", input: "remember the sea", conversation: "asks" });
      const deltas: string[] = [];
      stream.on("response.output_text.delta", (e) => deltas.push(e.delta));
      const final = await stream.finalResponse();
      const pending = (await s.call("GET", "/v1/approvals")).body.approvals[0];
      assert.equal(pending.tool, "remember");
      assert.equal(final.status, "completed");
      assert.equal(final.output_text, deltas.join(""), "the deltas are the whole text");
      assert.ok(final.output_text.startsWith("Noting it.\n\nagentd asks before running remember:"), final.output_text);
      assert.ok(final.output_text.includes(`Reply "YES ${pending.code}"`), final.output_text);
      assert.ok(final.output_text.includes(`POST /v1/approvals/${pending.id}`), final.output_text);
      assert.deepEqual(
        [final.metadata?.agentd_approval_id, final.metadata?.agentd_approval_code, final.metadata?.agentd_run_id],
        [pending.id, pending.code, pending.runId],
      );
      const decided = await openai.responses.create({
        model: "agentd",
        input: `YES ${pending.code}`,
        conversation: "asks",
      });
      assert.equal(decided.output_text, "Noted.");
    });

    test("a turn that fails: a whole answer is a 502 in OpenAI's shape, a chat stream ends with an error the client throws, a Responses stream with response.failed", async (t) => {
      const s = await served(t, b, { noModel: true });
      const openai = new OpenAI({ apiKey: s.key, baseURL: `${s.url}/openai/v1`, maxRetries: 0 });
      const ask = (user: string, stream: boolean) =>
        openai.chat.completions.create({
          model: "agentd",
          messages: [{ role: "user", content: "anyone?" }],
          user,
          stream,
        });
      const whole = await ask("nobody", false).catch((e: unknown) => e);
      assert.ok(whole instanceof OpenAI.APIError, String(whole));
      assert.deepEqual([whole.status, whole.type, whole.code], [502, "server_error", "run_failed"]);
      assert.match(whole.message, /the agent could not answer \(.*\); the message is kept/);

      const chunks = await ask("nobody-streamed", true);
      const thrown = await (async () => {
        for await (const _ of chunks as AsyncIterable<unknown>);
      })().then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(thrown instanceof OpenAI.APIError, String(thrown));
      assert.equal(thrown.code, "run_failed");
      assert.match(thrown.message, /the agent could not answer/);

      const events = await openai.responses.create({
        model: "agentd",
        input: "anyone?",
        conversation: "nobody-r",
        stream: true,
      });
      const types: string[] = [];
      let failed: { status?: string; error: { message: string } | null } | null = null;
      for await (const e of events) {
        types.push(e.type);
        if (e.type === "response.failed") failed = e.response;
      }
      assert.equal(types.at(-1), "response.failed", types.join(","));
      assert.ok(!types.includes("response.completed"));
      assert.equal(failed?.status, "failed");
      assert.match(failed?.error?.message ?? "", /the agent could not answer/);
      // The messages are kept in their sessions, to be answered once a model is set.
      assert.deepEqual(await conversation(s, "nobody"), [["user", "anyone?"]]);
    });

    test("a client that leaves a Responses stream mid-way: the turn completes and its reply is kept", async (t) => {
      const s = await served(t, b);
      const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
      s.model.script({ text: words, tokenDelayMs: 25 });
      const openai = new OpenAI({ apiKey: s.key, baseURL: `${s.url}/openai/v1`, maxRetries: 0 });
      const stream = await openai.responses.create({
        model: "agentd",
        input: "a long answer please",
        conversation: "leaver",
        stream: true,
      });
      let got = "";
      let runId = "";
      for await (const e of stream) {
        if (e.type === "response.created") runId = String(e.response.metadata?.agentd_run_id);
        if (e.type === "response.output_text.delta") got += e.delta;
        if (got.length > 10) {
          stream.controller.abort();
          break;
        }
      }
      assert.ok(runId.length > 0 && got.length < words.length, "left before the end");
      const out = await s.app.kernel.result<{ text: string; stopped: string }>(runId);
      assert.deepEqual([out.text, out.stopped], [words, "answer"]);
      assert.deepEqual(await conversation(s, "leaver"), [
        ["user", "a long answer please"],
        ["assistant", words],
      ]);
    });
  });
}
