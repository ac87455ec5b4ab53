// Memory search turns a person's (or a model's) words into full-text queries: the words must reach
// SQLite's FTS5 and Postgres' tsquery as quoted terms, never as syntax, and only within the tenant.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cosine, fts5Query, ftsTag, ftsText, queryTerms, tsQuery } from "../../src/memory/query.ts";

describe("memory query", () => {
  test("a query is its distinct lower-cased words: quotes, operators and brackets are not syntax", () => {
    assert.deepEqual(queryTerms('"foo" OR (bar'), ["foo", "or", "bar"]);
    assert.deepEqual(queryTerms("Meeting meeting MEETING notes"), ["meeting", "notes"]);
    assert.deepEqual(queryTerms("NEAR(a b) * ^c col:d 'e' -f"), ["near", "a", "b", "c", "col", "d", "e", "f"]);
    assert.deepEqual(
      queryTerms("Café naïve 2026 東京"),
      ["café", "naïve", "2026", "東京"],
      "letters, digits and marks of any script",
    );
    assert.deepEqual(queryTerms("!!! ... ???"), []);
  });

  test("at most 32 words reach the engine", () => {
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
    assert.deepEqual(queryTerms(words.join(" ")), words.slice(0, 32));
  });

  test("each tenant's words are tagged with its id in hex, so one tenant's query cannot match another's entries", () => {
    assert.equal(ftsTag("t1"), "7431");
    assert.match(ftsTag('a" OR "b'), /^[0-9a-f]+$/, "the tag is hex whatever the id holds");
    assert.notEqual(ftsTag("tenant-a"), ftsTag("tenant-b"));
    assert.equal(ftsText("t1", "Hello, World! hello"), "7431hello 7431world 7431hello");
  });

  test("FTS5 and tsquery expressions: quoted terms OR-ed, words of three letters or more also as prefixes", () => {
    assert.equal(fts5Query("t1", ["meet", "ab"]), '"7431meet"* OR "7431ab"');
    assert.equal(tsQuery(["meet", "ab"]), "'meet':* | 'ab'");
    assert.equal(fts5Query("t1", ["日本語"]), '"7431日本語"*', "three letters counted as characters, not bytes");
    assert.equal(tsQuery(["é"]), "'é'");
    const hostile = queryTerms(`x") OR 1=1; -- '`);
    assert.deepEqual(hostile, ["x", "or", "1"]);
    assert.equal(fts5Query("t1", hostile), '"7431x" OR "7431or" OR "74311"');
    assert.equal(tsQuery(hostile), "'x' | 'or' | '1'");
  });

  test("cosine similarity: 1 for the same direction, -1 opposite, 0 orthogonal or when vectors cannot be compared", () => {
    assert.equal(cosine([1, 2, 3], [2, 4, 6]), 1);
    assert.equal(cosine([1, 0], [-3, 0]), -1);
    assert.equal(cosine([1, 0], [0, 5]), 0);
    assert.ok(Math.abs(cosine([1, 1], [1, 0]) - Math.SQRT1_2) < 1e-12);
    assert.equal(cosine([], []), 0, "empty");
    assert.equal(cosine([1, 2], [1, 2, 3]), 0, "different models, different lengths");
    assert.equal(cosine([0, 0], [1, 1]), 0, "a zero vector");
  });
});
