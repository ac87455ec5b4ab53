// The splitter every channel uses for replies over its message limit (Telegram 4,096, WhatsApp 4,096,
// SMS segments): tested directly, so a change to its boundaries shows here before it shows on a phone.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { splitText } from "../../src/channels/split-text.ts";

describe("splitText", () => {
  test("text within the limit is one part, trimmed; blank text is no part; a limit under 2 is refused", () => {
    assert.deepEqual(splitText("short", 10), ["short"]);
    assert.deepEqual(splitText("  hi  ", 5), ["hi"], "trimmed before it is measured");
    assert.deepEqual(splitText("exactly10!", 10), ["exactly10!"]);
    assert.deepEqual(splitText("", 10), []);
    assert.deepEqual(splitText(" \n\n ", 3), []);
    assert.throws(() => splitText("anything", 1), RangeError);
    assert.throws(() => splitText("", 0), /limit must be at least 2/);
  });

  test("the best boundary in the last half of the window wins: blank line, then line end, then sentence end, then space", () => {
    assert.deepEqual(
      splitText("aaaa bbbb\n\ncccc\ndd", 16),
      ["aaaa bbbb", "cccc\ndd"],
      "a blank line before a later line end",
    );
    assert.deepEqual(splitText("aaaa bbbb\ncccc dd", 14), ["aaaa bbbb", "cccc dd"], "a line end before a later space");
    assert.deepEqual(
      splitText("Alpha beta. Gamma delta epsilon", 20),
      ["Alpha beta.", "Gamma delta epsilon"],
      "a sentence end before a later space, the stop kept",
    );
    assert.deepEqual(splitText("Really? Yes! Fine.", 9), ["Really?", "Yes!", "Fine."], "? and ! end sentences too");
    assert.deepEqual(
      splitText("aaaaa bbbbb", 5),
      ["aaaaa", "bbbbb"],
      "a space right after a full part is still in the window",
    );
  });

  test("a boundary in the first half of the window is passed over for a later one, or for a hard cut", () => {
    assert.deepEqual(
      splitText("para one\n\nline two\nthree four", 24),
      ["para one\n\nline two", "three four"],
      "the blank line is too early; the line end is not",
    );
    assert.deepEqual(splitText("x\ny z", 4), ["x\ny", "z"], "the line end is too early; the space is not");
    assert.deepEqual(
      splitText("a bbbbbbbbbbbbbbb", 10),
      ["a bbbbbbbb", "bbbbbbb"],
      "no boundary late enough: cut at the limit",
    );
    assert.deepEqual(splitText("abcdefghijklmnopqrstuvwxyz", 10), ["abcdefghij", "klmnopqrst", "uvwxyz"]);
  });

  test("a hard cut never splits a surrogate pair", () => {
    const emoji = "😀".repeat(10); // 20 UTF-16 units
    const parts = splitText(emoji, 5);
    assert.deepEqual(
      parts,
      ["😀😀", "😀😀", "😀😀", "😀😀", "😀😀"],
      "5 units hold two whole emoji, not two and a half",
    );
    assert.deepEqual(splitText(`a${"😀".repeat(3)}`, 4), ["a😀", "😀😀"]);
  });

  test("any text: parts within the limit, trimmed, never a lone surrogate at an edge, nothing lost or reordered but whitespace", () => {
    // A seeded generator: a failure names the iteration, and the same run reproduces it.
    let seed = 0x9e3779b9;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const pieces = [
      "word",
      "a",
      "longerword",
      " ",
      " ",
      "  ",
      "\n",
      "\n\n",
      ". ",
      "! ",
      "? ",
      ".",
      "😀",
      "é",
      "\t",
      "x".repeat(30),
    ];
    const deadline = Date.now() + 10_000;
    let iterations = 0;
    for (; iterations < 5000 && Date.now() < deadline; iterations++) {
      let text = "";
      const n = Math.floor(random() * 60);
      for (let i = 0; i < n; i++) text += pieces[Math.floor(random() * pieces.length)];
      const limit = 2 + Math.floor(random() * 40);
      const parts = splitText(text, limit);
      const where = `iteration ${iterations}: ${JSON.stringify(text)} at ${limit}`;
      for (const p of parts) {
        assert.ok(p.length >= 1 && p.length <= limit, `${where}: part ${JSON.stringify(p)}`);
        assert.equal(p, p.trim(), `${where}: part ${JSON.stringify(p)} is trimmed`);
        assert.ok(!/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(p), `${where}: part ${JSON.stringify(p)} splits a pair`);
      }
      if (text.trim().length <= limit) assert.deepEqual(parts, text.trim() ? [text.trim()] : [], where);
      assert.equal(parts.join("").replace(/\s+/g, ""), text.replace(/\s+/g, ""), `${where}: the text survives`);
    }
    assert.ok(iterations >= 1000, `only ${iterations} iterations ran`);
  });
});
