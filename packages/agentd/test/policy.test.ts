import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { globMatch } from "../src/agent/glob.ts";
import { MAX_PATTERN_CHARS, MAX_POLICIES, policies } from "../src/agent/policy.ts";
import type { Tool } from "../src/tools/types.ts";
import { served } from "./support/api.ts";
import { BACKENDS } from "./support/backends.ts";

/** What a pattern meant before: a regular expression (fine as a reference on small inputs). */
const reference = (pattern: string, subject: string) =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "s",
  ).test(subject);

test("globMatch agrees with the regular expression it replaces on thousands of small cases", () => {
  const alphabet = ["a", "b", "*", ".", "\n"];
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const word = (max: number, chars: string[]) =>
    Array.from({ length: rand(max + 1) }, () => chars[rand(chars.length)]).join("");
  for (let i = 0; i < 20_000; i++) {
    const pattern = word(7, alphabet);
    const subject = word(9, ["a", "b", ".", "\n", "*"]);
    assert.equal(
      globMatch(pattern, subject),
      reference(pattern, subject),
      `${JSON.stringify(pattern)} on ${JSON.stringify(subject)}`,
    );
  }
  assert.ok(globMatch("GET https://api.example.com/*", "GET https://api.example.com/v1/x"));
  assert.ok(!globMatch("GET https://api.example.com/*", "GET https://api.example.com.evil.net/"));
  assert.ok(globMatch("*", ""));
  assert.ok(!globMatch("a*a", "a"));
});

const probe: Tool = {
  name: "probe",
  description: "test tool",
  input: {} as Tool["input"],
  risk: "high",
  defaultDecision: "ask",
  subject: (a: { s: string }) => a.s,
  run: async () => "",
};

for (const b of BACKENDS) {
  describe(`policy patterns (${b.name})`, () => {
    test("a pattern built to backtrack is decided at once: no tenant can stall the process", async (t) => {
      const s = await served(t, b, { tools: [probe] });
      const scope = s.app.tenants.scope(s.tenantId);
      // Each extra "a*" made the old regular expression about 6x slower: 6 took ~5 s on 60 characters.
      await policies.set(scope, { tool: "probe", pattern: `*${"a*".repeat(6)}b`, decision: "deny" }, 1);
      let started = performance.now();
      assert.equal((await policies.decide(scope, probe, "a".repeat(60))).decision, "ask");
      assert.ok(performance.now() - started < 1_000, `decided in ${Math.round(performance.now() - started)} ms`);
      // The longest pattern a tenant may set, against a long subject.
      const worst = `*${"a*".repeat((MAX_PATTERN_CHARS - 2) / 2)}b`;
      assert.equal(worst.length, MAX_PATTERN_CHARS);
      assert.equal(
        (await s.call("PUT", "/v1/policies", { body: { tool: "probe", pattern: worst, decision: "deny" } })).status,
        200,
      );
      started = performance.now();
      assert.equal((await policies.decide(scope, probe, "a".repeat(8_000))).decision, "ask");
      assert.equal((await policies.decide(scope, probe, `${"a".repeat(8_000)}b`)).decision, "deny");
      assert.ok(performance.now() - started < 1_000, `decided in ${Math.round(performance.now() - started)} ms`);
    });

    test("patterns are bounded in length and number, with a 400 that says so", async (t) => {
      const s = await served(t, b, { tools: [probe] });
      const long = await s.call("PUT", "/v1/policies", {
        body: { tool: "probe", pattern: "x".repeat(MAX_PATTERN_CHARS + 1), decision: "allow" },
      });
      assert.equal(long.status, 400);
      const scope = s.app.tenants.scope(s.tenantId);
      await assert.rejects(
        policies.set(scope, { tool: "probe", pattern: "x".repeat(MAX_PATTERN_CHARS + 1), decision: "allow" }, 1),
        /at most 500 characters/,
      );
      for (let i = 0; i < MAX_POLICIES; i++)
        await policies.set(scope, { tool: "probe", pattern: `p${i}*`, decision: "allow" }, 1);
      const over = await s.call("PUT", "/v1/policies", {
        body: { tool: "probe", pattern: "one-more*", decision: "allow" },
      });
      assert.equal(over.status, 400);
      assert.match(over.body.error.message, /200 policy rules, the most it may keep; remove one/);
      // Changing a rule that exists is not adding one.
      assert.equal(
        (await s.call("PUT", "/v1/policies", { body: { tool: "probe", pattern: "p3*", decision: "deny" } })).status,
        200,
      );
      assert.equal((await policies.list(scope)).length, MAX_POLICIES);
      // Two processes adding at once cannot both pass the bound.
      await policies.remove(scope, "probe", "p0*");
      const both = await Promise.allSettled(
        [1, 2, 3].map((i) => policies.set(scope, { tool: "probe", pattern: `race${i}*`, decision: "allow" }, 1)),
      );
      assert.equal(both.filter((r) => r.status === "fulfilled").length, 1);
      assert.equal((await policies.list(scope)).length, MAX_POLICIES);
    });

    test("a rule may cover every tool of a server (mcp__github__*): a rule naming the tool goes first, a deny still wins, anything but one trailing * refused", async (t) => {
      const s = await served(t, b, { tools: [probe] });
      const scope = s.app.tenants.scope(s.tenantId);
      const named = (name: string): Tool => ({ ...probe, name });
      const decide = async (name: string, subject = "{}") =>
        (await policies.decide(scope, named(name), subject)).decision;
      const put = (tool: string, decision: string, pattern?: string) =>
        s.call("PUT", "/v1/policies", { body: { tool, decision, ...(pattern ? { pattern } : {}) } });

      assert.equal((await put("mcp__github__*", "allow")).status, 200);
      assert.equal(await decide("mcp__github__get_me"), "allow");
      assert.equal(await decide("mcp__github__star_repo"), "allow");
      // Another server is not covered, not even one whose name starts alike.
      assert.equal(await decide("mcp__githubx__get_me"), "ask");
      assert.equal(await decide("mcp__gitlab__get_me"), "ask");
      // A rule naming one tool goes before the server's: its deletes still ask.
      assert.equal((await put("mcp__github__delete_repo", "ask")).status, 200);
      assert.equal(await decide("mcp__github__delete_repo"), "ask");
      assert.equal(await decide("mcp__github__get_me"), "allow");
      // A longer prefix goes before a shorter; a deny that matches beats every allow, its own tool's too.
      assert.equal((await put("mcp__github__admin_*", "ask")).status, 200);
      assert.equal(await decide("mcp__github__admin_hooks"), "ask");
      assert.equal((await put("mcp__github__get_me", "allow")).status, 200);
      assert.equal((await put("mcp__*", "deny", "*token*")).status, 200);
      assert.equal(await decide("mcp__github__get_me", '{"q":"my token"}'), "deny");
      assert.equal(await decide("mcp__github__get_me", '{"q":"me"}'), "allow");
      const decided = await policies.decide(scope, named("mcp__notes__x"), "a token");
      assert.equal(decided.rule, "deny mcp__* *token*", "the rule that decided is named as written");
      // Built-ins by prefix too.
      assert.equal((await put("pro*", "deny")).status, 200);
      assert.equal(await decide("probe"), "deny");

      // Anything but one * at the end, or a prefix no tool can have, is refused with the reason.
      for (const tool of ["*", "mcp__*__get_me", "mcp__github__**", "*__get_me"]) {
        const refused = await put(tool, "allow");
        assert.equal(refused.status, 400, tool);
        assert.match(refused.body.error.message, /a prefix ending in one \*/, tool);
      }
      const unknown = await put("nosuch*", "allow");
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.error.message, /no tool's name starts with "nosuch"/);
      // Removed as written; the server's tools are back to their defaults.
      assert.equal((await s.call("DELETE", "/v1/policies/mcp__github__*")).status, 204);
      assert.equal(await decide("mcp__github__star_repo"), "ask");
      assert.deepEqual(
        (await policies.list(scope)).map((r) => r.tool),
        ["mcp__*", "mcp__github__admin_*", "mcp__github__delete_repo", "mcp__github__get_me", "pro*"],
      );
    });
  });
}
