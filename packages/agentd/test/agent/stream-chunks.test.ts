import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";

// The model's text reaches the run's stream, and an SSE client, one chunk per network read of the
// answer (docs/design.md §2.3): tokens read together are one chunk, not one each; the text is the same.

const REPLY = "Hello there, friend. This answer came in one read.";

for (const b of BACKENDS) {
  describe(`the model's text as stream chunks (${b.name})`, () => {
    test("tokens read together are one chunk; tokens read apart stay apart; an SSE client gets the same text", async (t) => {
      const s = await served(t, b);
      // The whole answer in one write: one read here, so one text chunk (the stand-in cuts it into 13 tokens).
      s.model.script({ text: REPLY, oneWrite: true });
      const together = await s.stream("POST", "/v1/messages", { body: { text: "at once", conversation: "a" } });
      assert.deepEqual(
        together.map((e) => e.event),
        ["accepted", "start", "text", "done"],
      );
      assert.deepEqual(together[2]?.data, { t: "text", d: REPLY });
      assert.equal(together[3]?.data.text, REPLY);
      const runId = together[0]?.data.runId as string;
      const stored: { t: string; d?: string }[] = [];
      for await (const c of s.app.kernel.subscribe<{ t: string; d?: string }>(runId)) stored.push(c.data);
      assert.deepEqual(
        stored.map((c) => c.t),
        ["start", "text", "done"],
        "the run's stream holds one chunk for the text",
      );

      // Tokens 30 ms apart are read apart: a chunk each, as before.
      s.model.script({ text: REPLY, tokenDelayMs: 30 });
      const apart = await s.stream("POST", "/v1/messages", { body: { text: "slowly", conversation: "b" } });
      const texts = apart.filter((e) => e.event === "text");
      assert.ok(texts.length >= 8, `${texts.length} text events for 13 tokens 30 ms apart`);
      assert.equal(texts.map((e) => e.data.d).join(""), REPLY);
      assert.equal(apart.at(-1)?.data.text, REPLY);
    });
  });
}
