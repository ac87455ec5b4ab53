import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { approvals } from "../../src/agent/approvals.ts";
import { served } from "../support/api.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { httpToolSource, startToolServer } from "../support/tool-server.ts";
import { until } from "../support/wait.ts";

const schema = {
  type: "object",
  properties: { q: { type: "string", description: "the note" } },
  required: ["q"],
  additionalProperties: false,
};
const offered = (req: { body: { tools?: { function: { name: string; parameters: unknown } }[] } }) =>
  (req.body.tools ?? []).map((t) => t.function.name);

for (const b of BACKENDS) {
  describe(`tenants' own tools in a turn (${b.name})`, () => {
    test("a tenant's tool is offered by its model-facing name, approved, called through its source, fenced; the tools a turn saw are replayed, not listed again", async (t) => {
      const server = await startToolServer();
      t.after(() => server.close());
      // No suspended run is kept hot: the approval's wake-up replays the turn from its journal.
      const { app, model, tenantId } = await testAgentd(t, b, {
        toolSources: [httpToolSource(server)],
        worker: { hotCacheSize: 0 },
      });
      server.tools.set(tenantId, [
        {
          server: "notes",
          name: "add_note",
          description: "Add a note.",
          inputSchema: schema,
          run: (a: { q: string }) => ({ saved: a.q }),
        },
      ]);
      model.script({ toolCalls: [{ name: "mcp__notes__add_note", arguments: { q: "buy milk" } }] }, { text: "Saved." });
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "note: buy milk" });
      const scope = app.tenants.scope(tenantId);
      const pending = await until(async () => (await approvals.list(scope))[0], "the approval");
      assert.equal(pending.tool, "mcp__notes__add_note", "unvetted tools ask first");
      assert.equal(server.calls.length, 0, "nothing runs before the approval");
      const first = model.requests[0]!;
      assert.ok(offered(first).includes("mcp__notes__add_note"));
      assert.ok(offered(first).includes("remember"), "built-ins too");
      const def = first.body.tools.find(
        (x: { function: { name: string } }) => x.function.name === "mcp__notes__add_note",
      ).function;
      assert.deepEqual(def.parameters.properties, schema.properties, "the schema as the server published it");
      // The tenant's server changes while the turn waits: the turn keeps the tools it started with.
      server.tools.set(tenantId, [
        ...server.tools.get(tenantId)!,
        {
          server: "notes",
          name: "delete_all",
          description: "Delete every note.",
          inputSchema: { type: "object" },
          run: () => "gone",
        },
      ]);
      await approvals.decide(scope, pending.id, "once", "tester", Date.now(), app.kernel);
      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "Saved.");
      assert.deepEqual(server.calls, [
        { tenant: tenantId, server: "notes", name: "add_note", args: { q: "buy milk" } },
      ]);
      assert.equal(server.lists.get(tenantId), 1, "listed once, in the turn's first step; the replay read the journal");
      const second = model.requests[1]!;
      assert.deepEqual(offered(second), offered(first), "the replayed turn offers what it offered before");
      const toolMsg = second.body.messages.find((m: { role: string }) => m.role === "tool").content as string;
      assert.match(toolMsg, /^<untrusted source="mcp__notes__add_note">\n\{"saved":"buy milk"\}\n<\/untrusted>$/);

      // The next turn resolves again and sees the new tool; another tenant never sees this one's.
      model.script({ text: "ok" }, { text: "ok" });
      await app.kernel.result(
        (await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "and now?" })).runId,
      );
      assert.ok(offered(model.requests[2]!).includes("mcp__notes__delete_all"));
      const other = await app.tenants.create("other", {});
      await app.kernel.result(
        (await app.inbox.receive({ tenantId: other.id, channel: "http", conversation: "c", text: "hi" })).runId,
      );
      assert.equal(
        offered(model.requests[3]!).some((n) => n.startsWith("mcp__")),
        false,
      );
    });

    test("a tenant denies tools by name or pattern; a source that is down costs its tools, not the turn", async (t) => {
      const server = await startToolServer();
      t.after(() => server.close());
      const { app, model, tenantId } = await testAgentd(t, b, {
        toolSources: [httpToolSource(server)],
        tenantSettings: { deniedTools: ["web_fetch", "mcp__github__*"] },
      });
      server.tools.set(tenantId, [
        {
          server: "github",
          name: "create_issue",
          description: "Open an issue.",
          inputSchema: { type: "object" },
          run: () => 1,
        },
        {
          server: "notes",
          name: "add_note",
          description: "Add a note.",
          inputSchema: { type: "object" },
          run: () => 1,
        },
      ]);
      model.script({ toolCalls: [{ name: "mcp__github__create_issue", arguments: {} }] }, { text: "done" });
      await app.kernel.result(
        (await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "hi" })).runId,
      );
      const names = offered(model.requests[0]!);
      assert.ok(names.includes("mcp__notes__add_note"));
      assert.ok(names.includes("web_search"), "built-ins it did not deny");
      assert.equal(names.includes("web_fetch") || names.includes("mcp__github__create_issue"), false);
      assert.match(
        JSON.stringify(model.requests[1]!.body.messages),
        /no tool named mcp__github__create_issue/,
        "a denied tool cannot be called by guessing its name",
      );
      assert.equal(server.calls.length, 0);

      server.failLists = 503;
      model.script({ text: "still here" });
      const out = await app.kernel.result<{ text: string }>(
        (await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "again" })).runId,
      );
      assert.equal(out.text, "still here");
      assert.equal(
        offered(model.requests[2]!).some((n) => n.startsWith("mcp__")),
        false,
      );
      assert.ok(offered(model.requests[2]!).includes("remember"));

      await assert.rejects(
        app.tenants.create("typo", { deniedTools: ["remembr"] }),
        /deniedTools names a tool that does not exist: remembr/,
      );
    });
  });
}

for (const b of BACKENDS) {
  test(`a tenant sets a policy for its own tool through the API, and the turn then runs it without asking (${b.name})`, async (t) => {
    const server = await startToolServer();
    t.after(() => server.close());
    const { app, model, tenantId, call } = await served(t, b, { toolSources: [httpToolSource(server)] });
    server.tools.set(tenantId, [
      {
        server: "notes",
        name: "add_note",
        description: "Add a note.",
        inputSchema: schema,
        run: (a: { q: string }) => ({ saved: a.q }),
      },
    ]);
    assert.equal(
      (await call("PUT", "/v1/policies", { body: { tool: "mcp__notes__add_note", decision: "allow" } })).status,
      200,
    );
    const unknown = await call("PUT", "/v1/policies", { body: { tool: "other__notes__add_note", decision: "allow" } });
    assert.equal(unknown.status, 400, "a name no source can give");
    assert.match(
      unknown.body.error.message ?? JSON.stringify(unknown.body),
      /there is no tool named "other__notes__add_note"/,
    );
    model.script({ toolCalls: [{ name: "mcp__notes__add_note", arguments: { q: "call mum" } }] }, { text: "Saved." });
    const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "note: call mum" });
    assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "Saved.");
    assert.deepEqual(
      server.calls.map((c) => c.args),
      [{ q: "call mum" }],
    );
    assert.equal((await approvals.list(app.tenants.scope(tenantId), null)).length, 0, "nobody was asked");
  });
}
