import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { splitMessage } from "../../../src/channels/telegram/index.ts";

describe("splitMessage", () => {
  test("cuts at paragraph, then line, then space, never over the limit and never inside a surrogate pair", () => {
    assert.deepEqual(splitMessage("short"), ["short"]);
    assert.deepEqual(splitMessage("aaaa bbbb\n\ncccc", 12), ["aaaa bbbb", "cccc"]);
    assert.deepEqual(splitMessage("aaaa\nbbbb cccc", 12), ["aaaa\nbbbb", "cccc"]);
    assert.deepEqual(splitMessage("aaaaaa bbbbbb", 10), ["aaaaaa", "bbbbbb"]);
    const emoji = "😀".repeat(10); // 20 code units
    const parts = splitMessage(emoji, 5);
    assert.ok(parts.every((p) => p.length <= 5 && !/[\ud800-\udbff]$/.test(p)));
    assert.equal(parts.join(""), emoji);
  });
});
