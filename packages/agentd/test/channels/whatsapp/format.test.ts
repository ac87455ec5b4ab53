import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toWhatsAppText } from "../../../src/channels/whatsapp/index.ts";

describe("whatsapp formatting", () => {
  test("markdown becomes WhatsApp's own markup; code is left as written", () => {
    assert.equal(toWhatsAppText("The **answer** is *42*; `a*b*c` stays"), "The *answer* is _42_; `a*b*c` stays");
    assert.equal(toWhatsAppText("# Plan\n* one\n* two ~~old~~"), "*Plan*\n- one\n- two ~old~");
    assert.equal(
      toWhatsAppText("[docs](https://x.test/a_b) and https://y.test"),
      "docs (https://x.test/a_b) and https://y.test",
    );
    assert.equal(toWhatsAppText("```ts\nconst a = **b**;\n```"), "```\nconst a = **b**;\n```");
    assert.equal(toWhatsAppText("2*3*4 = 24, a * b"), "2*3*4 = 24, a * b");
  });
});
