/**
 * Composio's execute runs any tool of any toolkit, so a person's "Always" must allow the one tool
 * they approved, never every call: the subject starts with the toolkit and the tool (then the rest
 * as JSON), the rule is those two and a wildcard, and values cannot smuggle in spaces or wildcards.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { policies, subjectOf } from "../../src/agent/policy.ts";
import { COMPOSIO_TOOLS } from "../../src/composio/source.ts";
import { Tenants } from "../../src/tenancy/tenants.ts";
import { ToolRegistry } from "../../src/tools/registry.ts";
import { sqlite } from "../support/backends.ts";

const STAR = "GITHUB_STAR_A_REPOSITORY_FOR_THE_AUTHENTICATED_USER";

describe("Composio's execute under the tenant's policy", () => {
  test("an Always allows the approved tool only; a deny names one tool; crafted values match nothing", async (t) => {
    const { db } = await sqlite.db(t);
    const tenants = new Tenants(db, Date.now);
    const scope = tenants.scope((await tenants.create("p")).id);
    const registry = new ToolRegistry().addSource({
      id: "composio",
      list: async () => COMPOSIO_TOOLS,
      call: async () => "ran",
    });
    const resolved = await registry.resolve(scope, { allow: [], deny: [], sources: true });
    const execute = registry.view({ ...resolved, groups: ["apps"] }).get("composio__composio__execute");
    assert.ok(execute);
    const star = { toolkit: "github", tool: STAR, arguments: { owner: "octo", repo: "hello" } };
    assert.equal(subjectOf(execute, star), `github ${STAR} {"arguments":{"owner":"octo","repo":"hello"}}`);
    assert.equal((await policies.decide(scope, execute, subjectOf(execute, star))).decision, "ask");

    await policies.allowAlways(scope, execute, star, Date.now());
    const decide = async (args: unknown) => (await policies.decide(scope, execute, subjectOf(execute, args))).decision;
    assert.equal(await decide({ ...star, arguments: { owner: "someone", repo: "else" } }), "allow");
    assert.equal(await decide({ ...star, tool: "GITHUB_DELETE_A_REPOSITORY" }), "ask");
    assert.equal(await decide({ ...star, toolkit: "gitlab" }), "ask");
    // A toolkit with a space in it cannot pass for the approved pair followed by another tool.
    assert.equal(await decide({ toolkit: `github ${STAR}`, tool: "GITHUB_DELETE_A_REPOSITORY", arguments: {} }), "ask");
    // A wildcard in a value is not one: an Always on it allows that literal value only.
    const wild = { toolkit: "*", tool: "*", arguments: {} };
    assert.equal(subjectOf(execute, wild).startsWith("? ? "), true);
    await policies.allowAlways(scope, execute, wild, Date.now());
    assert.equal(await decide({ ...star, tool: "GITHUB_DELETE_A_REPOSITORY" }), "ask");

    // A rule the tenant writes can name a toolkit's reads: deny beats allow for the tool it names.
    await policies.set(scope, { tool: execute.name, pattern: "github GITHUB_GET_* *", decision: "allow" }, Date.now());
    await policies.set(scope, { tool: execute.name, pattern: `github ${STAR} *`, decision: "deny" }, Date.now());
    assert.equal(await decide({ toolkit: "github", tool: "GITHUB_GET_A_REPOSITORY", arguments: {} }), "allow");
    assert.equal(await decide(star), "deny");
  });
});
