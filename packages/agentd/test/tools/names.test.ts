import assert from "node:assert/strict";
import { test } from "node:test";
import { MODEL_TOOL_NAME, nameTools, sourcedToolName, type ToolRef } from "../../src/tools/sources/names.ts";

const ref = (server: string, tool: string, source = "mcp"): ToolRef => ({ source, server, tool });

/** A small seeded generator (mulberry32): the same texts on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const ALPHABET = ["a", "Z", "0", "_", "-", "__", " ", ".", "/", "ä", "日本", "😀", "\u0000", "\ud800", "x".repeat(40)];
function text(rand: () => number): string {
  let s = "";
  for (let n = Math.floor(rand() * 8); n > 0; n--) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}

test("a plain tool keeps its name: <source>__<server>__<tool>", () => {
  assert.equal(sourcedToolName(ref("github", "create_issue")), "mcp__github__create_issue");
  assert.equal(sourcedToolName(ref("google-drive", "list-files", "app")), "app__google-drive__list-files");
});

test("every name fits every model API: 1-64 of [A-Za-z0-9_-], for 20,000 seeded random triples", () => {
  const rand = random(14);
  for (let i = 0; i < 20_000; i++) {
    const r = ref(text(rand), text(rand));
    const name = sourcedToolName(r);
    assert.match(name, MODEL_TOOL_NAME, JSON.stringify(r));
    assert.ok(name.startsWith("mcp__"), name);
  }
});

test("a changed or cut name ends in a hash of the exact triple, so tools that clean alike stay apart", () => {
  const a = sourcedToolName(ref("weather", "münchen"));
  const b = sourcedToolName(ref("weather", "mönchen"));
  assert.match(a, /^mcp__weather__m_nchen_[0-9a-f]{10}$/);
  assert.notEqual(a, b, "ü and ö both become _, the hash tells them apart");
  assert.match(
    sourcedToolName(ref("日本", "検索")),
    /^mcp__x__x_[0-9a-f]{10}$/,
    "a part with nothing left is x, hashed",
  );
  assert.notEqual(sourcedToolName(ref("a b", "c")), sourcedToolName(ref("a_b", "c")), "a space is not an underscore");
});

test("long names are cut to 64 characters, deterministically, and two that differ only past the cut stay apart", () => {
  const long = "very_long_tool_name_".repeat(5);
  const a = sourcedToolName(ref("server", `${long}alpha`));
  const b = sourcedToolName(ref("server", `${long}beta`));
  assert.ok(a.length <= 64 && b.length <= 64);
  assert.match(
    a,
    /^mcp__server__very_long_tool_name_very_long_tool_name_[0-9a-f]{10}$/,
    "a cut inside a separator drops its _",
  );
  assert.notEqual(a, b);
  assert.equal(a, sourcedToolName(ref("server", `${long}alpha`)), "the same triple, the same name");
  assert.equal(
    sourcedToolName(ref("s", "t".repeat(56))),
    `mcp__s__${"t".repeat(56)}`,
    "exactly 64 plain characters are kept as they are",
  );
  assert.match(sourcedToolName(ref("s", "t".repeat(57))), /^mcp__s__t{45}_[0-9a-f]{10}$/, "65 are cut and hashed");
});

test("the separator cannot be forged: a server or tool name holding __ does not collide with another split", () => {
  const a = sourcedToolName(ref("a__b", "c"));
  const b = sourcedToolName(ref("a", "b__c"));
  assert.notEqual(a, b);
  assert.notEqual(a, "mcp__a__b__c");
  assert.equal(a.split("__").length, 3, "a cleaned part never holds the separator");
});

test("nameTools maps every name back to its exact triple, whatever order the tools were listed in", () => {
  const refs = [
    ref("github", "create_issue"),
    ref("github", "list issues"),
    ref("files", "read"),
    ref("files", "read", "app"),
    ref("日本", "検索"),
  ];
  const named = nameTools(refs);
  assert.equal(named.size, refs.length);
  for (const [name, r] of named) {
    assert.match(name, MODEL_TOOL_NAME);
    assert.equal(name, sourcedToolName(r), "no collision here, so each has its own name");
  }
  assert.deepEqual([...named.values()].map((r) => JSON.stringify(r)).sort(), refs.map((r) => JSON.stringify(r)).sort());
  const rand = random(7);
  for (let i = 0; i < 50; i++) {
    const shuffled = [...refs].sort(() => rand() - 0.5);
    assert.deepEqual([...nameTools(shuffled)], [...named], "stable under reordering");
  }
});

test("nameTools: a tool whose plain name equals another's hashed name pushes both to hashed names, and each keeps a distinct one", () => {
  const cleaned = ref("srv", "f ö");
  const hashed = sourcedToolName(cleaned); // mcp__srv__f_<hash>
  const impostor = ref("srv", hashed.slice("mcp__srv__".length)); // a tool literally named f_<hash>
  assert.equal(sourcedToolName(impostor), hashed, "the collision this test is about");
  const named = nameTools([impostor, cleaned]);
  assert.equal(named.size, 2);
  const names = [...named.keys()];
  assert.notEqual(names[0], names[1]);
  for (const [name, r] of named) assert.equal(name, sourcedToolName(r, true));
  assert.deepEqual([...nameTools([cleaned, impostor])], [...named]);
  // A tool that did not collide keeps its plain name: its policy rules still name it.
  const more = nameTools([impostor, cleaned, ref("srv", "other")]);
  assert.equal(more.get("mcp__srv__other")?.tool, "other");
});

test("the same tool listed twice is offered once", () => {
  const named = nameTools([ref("a", "b"), ref("a", "b")]);
  assert.equal(named.size, 1);
});

test("a source id that would break the names is refused", () => {
  assert.throws(() => sourcedToolName(ref("s", "t", "my_source")), /source's id must match/);
  assert.throws(() => sourcedToolName(ref("s", "t", "")), /source's id must match/);
  assert.throws(() => sourcedToolName(ref("s", "t", "MCP")), /source's id must match/);
});
