import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { z } from "zod";
import { defineTool } from "agentd";
import { rollDice } from "../../../docs/examples/custom-tool.ts";

const root = new URL("../../../", import.meta.url);

test("the README's custom tool is the type-checked example, word for word", () => {
  const readme = readFileSync(new URL("README.md", root), "utf8");
  const example = readFileSync(new URL("docs/examples/custom-tool.ts", root), "utf8");
  assert.ok(readme.includes(`\`\`\`ts\n${example}\`\`\``), "README.md shows docs/examples/custom-tool.ts as it is");
});

test("the example tool runs: its arguments come typed from its schema, and the schema bounds them", async () => {
  const out = (await rollDice.run({ count: 3, sides: 6 }, {} as never)) as { faces: number[]; total: number };
  assert.equal(out.faces.length, 3);
  assert.ok(out.faces.every((f) => f >= 1 && f <= 6));
  assert.equal(
    out.total,
    out.faces.reduce((a, b) => a + b, 0),
  );
  assert.equal(rollDice.subject?.({ count: 3, sides: 6 }), "3d6");
  assert.equal(rollDice.input.safeParse({ count: 11, sides: 6 }).success, false);
});

test("defineTool refuses a name model APIs reject and an empty description, at definition time", () => {
  const base = {
    description: "x",
    input: z.object({}),
    risk: "low" as const,
    defaultDecision: "allow" as const,
    run: async () => null,
  };
  assert.throws(() => defineTool({ ...base, name: "has space" }), /must be 1 to 64 letters, digits or underscores/);
  assert.throws(() => defineTool({ ...base, name: "ok", description: " " }), /give it a description/);
  assert.equal(defineTool({ ...base, name: "ok" }).name, "ok");
});
