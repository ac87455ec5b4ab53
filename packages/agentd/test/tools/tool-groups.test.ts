import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import { approvals } from "../../src/agent/approvals.ts";
import { defineTool } from "../../src/tools/define.ts";
import { ToolRegistry } from "../../src/tools/registry.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { until } from "../support/wait.ts";

type Req = { body: { tools?: { function: { name: string; description: string } }[]; messages: unknown[] } };
const offered = (req: Req) => (req.body.tools ?? []).map((t) => t.function.name);
const described = (req: Req, name: string) =>
  req.body.tools?.find((t) => t.function.name === name)?.function.description;

/** A tool of the "apps" group that asks first, so a turn calling it waits and is replayed from its journal. */
const probe = (calls: string[]) =>
  defineTool({
    name: "probe",
    description: "Probe a thing.",
    input: z.object({ what: z.string() }),
    risk: "medium",
    defaultDecision: "ask",
    group: "apps",
    run: async ({ what }) => {
      calls.push(what);
      return `probed ${what}`;
    },
  });

for (const b of BACKENDS) {
  describe(`tool groups on demand (${b.name})`, () => {
    test("a first request carries the everyday tools and load_tools; a loaded group is offered from the next call on, and the replayed turn offers the same", async (t) => {
      const calls: string[] = [];
      const { app, model, tenantId } = await testAgentd(t, b, { tools: [probe(calls)], worker: { hotCacheSize: 0 } });
      model.script(
        { toolCalls: [{ name: "load_tools", arguments: { groups: ["apps"] } }] },
        { toolCalls: [{ name: "probe", arguments: { what: "the gate" } }] },
        { text: "The gate is fine." },
      );
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "check the gate" });
      const scope = app.tenants.scope(tenantId);
      const pending = await until(async () => (await approvals.list(scope))[0], "the approval");
      const [first, second] = model.requests as Req[];
      for (const name of ["remember", "recall", "web_search", "web_fetch", "load_tools"])
        assert.ok(offered(first!).includes(name), `${name} is offered from the start`);
      for (const name of ["probe", "http_request", "run_code", "ssh", "browser"])
        assert.ok(!offered(first!).includes(name), `${name} waits for its group`);
      for (const group of ["apps", "ssh", "code", "browser"])
        assert.match(described(first!, "load_tools") ?? "", new RegExp(`${group} \\(`), `load_tools names ${group}`);
      assert.ok(JSON.stringify(first!.body).length < 6_000, "the first request stays lean");
      assert.ok(offered(second!).includes("probe") && offered(second!).includes("http_request"), "apps loaded");
      assert.ok(!offered(second!).includes("ssh"), "only the group asked for");
      const loadedText = JSON.stringify(second!.body.messages.at(-1));
      assert.match(loadedText, /apps: [^"]*http_request[^"]*probe/, "the model is told what it can call now");
      await approvals.decide(scope, pending.id, "once", "tester", Date.now(), app.kernel);
      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "The gate is fine.");
      assert.deepEqual(calls, ["the gate"]);
      const third = model.requests[2] as Req;
      assert.deepEqual(offered(third), offered(second!), "the replay offers what the turn had loaded");
    });

    test("a tool of a group not loaded still runs when called by name; an unknown group loads nothing and says which exist", async (t) => {
      const calls: string[] = [];
      const { app, model, tenantId } = await testAgentd(t, b, {
        tools: [{ ...probe(calls), defaultDecision: "allow" }],
      });
      model.script(
        {
          toolCalls: [
            { name: "probe", arguments: { what: "by name" } },
            { name: "load_tools", arguments: { groups: ["teleport"] } },
          ],
        },
        { text: "ok" },
      );
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "go" });
      await app.kernel.result(r.runId);
      assert.deepEqual(calls, ["by name"]);
      const second = model.requests[1] as Req;
      assert.ok(!offered(second).includes("probe"), "nothing was loaded");
      assert.match(JSON.stringify(second.body.messages), /teleport/, "the refusal names what was asked");
      assert.match(JSON.stringify(second.body.messages), /apps/, "and the groups that exist");
    });

    test("a tenant's toolGroups are offered from the start, and load_tools names only the others", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b, {
        tools: [probe([])],
        tenantSettings: { toolGroups: ["apps", "code"] },
      });
      model.script({ text: "hi" });
      await app.kernel.result(
        (await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "hi" })).runId,
      );
      const first = model.requests[0] as Req;
      for (const name of ["probe", "http_request", "run_code"]) assert.ok(offered(first).includes(name), name);
      assert.ok(!offered(first).includes("ssh"));
      assert.doesNotMatch(described(first, "load_tools") ?? "", /apps \(|code \(/);
      assert.match(described(first, "load_tools") ?? "", /ssh \(/);
    });
  });
}

test("a turn recorded before tool groups offers every tool, as it did, and no load_tools", () => {
  const registry = new ToolRegistry().register(probe([]));
  const old = registry.view({ tools: null });
  assert.deepEqual(
    old.list().map((t) => t.name),
    ["probe"],
  );
  const now = registry.view({ tools: null, groups: [] });
  assert.deepEqual(
    now.list().map((t) => t.name),
    ["load_tools"],
  );
  assert.equal(now.get("probe")?.name, "probe", "callable by name before its group is loaded");
  assert.equal(now.load({ groups: ["apps"] }), true);
  assert.equal(now.load({ groups: ["apps"] }), false, "loading twice changes nothing");
  assert.deepEqual(
    now
      .list()
      .map((t) => t.name)
      .sort(),
    ["load_tools", "probe"],
  );
});
