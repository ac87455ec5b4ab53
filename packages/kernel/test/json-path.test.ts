import assert from "node:assert/strict";
import { test } from "node:test";
import { NotSerializableError } from "../src/errors.ts";
import { encodeJson } from "../src/json.ts";

/** The walk keeps its place as a list of keys and indexes, made into text only for the error. */
const at = (value: unknown): string => {
  try {
    encodeJson(value, "v", 1 << 20);
  } catch (e) {
    assert.ok(NotSerializableError.is(e));
    return (/at (\S+):/.exec((e as Error).message) as RegExpExecArray)[1] as string;
  }
  assert.fail("encoded");
};

test("a refused value is named by its path from the top", () => {
  assert.equal(at(Number.NaN), "$");
  assert.equal(at({ a: [1, { b: new Date(0) }] }), "$.a[1].b");
  assert.equal(at([[0, 1n]]), "$[0][1]");
  assert.equal(at({ ok: [1, 2], bad: { deep: [undefined] } }), "$.bad.deep[0]");
  const cyclic: Record<string, unknown> = { x: { y: 1 } };
  (cyclic.x as Record<string, unknown>).back = cyclic;
  assert.equal(at(cyclic), "$.x.back");
});

test("siblings after a nested value keep their own path", () => {
  assert.equal(at({ a: { b: { c: 1 } }, d: [0, 0, () => 0] }), "$.d[2]");
  assert.equal(at([{ a: 1 }, { b: [2] }, Symbol("s")]), "$[2]");
});

test("plain values pass, undefined at the top is null, inside an object it is dropped", () => {
  assert.equal(
    encodeJson({ run: 1, step: 2, ok: true, n: null, s: "x" }, "v", 1 << 20),
    '{"run":1,"step":2,"ok":true,"n":null,"s":"x"}',
  );
  assert.equal(encodeJson(undefined, "v", 1 << 20), null);
  assert.equal(encodeJson({ a: undefined, b: 1 }, "v", 1 << 20), '{"b":1}');
  const shared = { k: 1 };
  assert.equal(encodeJson([shared, shared], "v", 1 << 20), '[{"k":1},{"k":1}]', "a repeated object is not a cycle");
});
