import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import type { LogRecord } from "@agentd/kernel";
import type { TenantScope } from "../../src/tenancy/scope.ts";
import { ToolRegistry } from "../../src/tools/registry.ts";
import type { SourceTool, ToolSource } from "../../src/tools/sources/port.ts";
import type { Tool } from "../../src/tools/types.ts";
import { httpToolSource, startToolServer } from "../support/tool-server.ts";

// Resolution reads nothing of the tenant but its id (sources get the scope to reach their own data).
const tenant = (id: string) => ({ tenantId: id }) as TenantScope;
const builtin = (name: string): Tool => ({
  name,
  description: name,
  input: z.object({}),
  risk: "low",
  defaultDecision: "allow",
  run: async () => name,
});
const schema = { type: "object", properties: { q: { type: "string" } }, required: ["q"] };
const hosted = (server: string, name: string, extra: Partial<SourceTool> = {}) => ({
  server,
  name,
  description: `${name} at ${server}`,
  inputSchema: schema,
  run: (a: unknown) => a,
  ...extra,
});
const all = { allow: null, deny: [], sources: true };

test("a built-in may not carry __ (the mark of tools from sources), and a source's id must fit the names", () => {
  assert.throws(() => new ToolRegistry().register(builtin("mcp__x__y")), /contains "__"/);
  assert.throws(() => new ToolRegistry().register(builtin("a"), builtin("a")), /registered twice/);
  const s: ToolSource = { id: "mcp", list: async () => [], call: async () => null };
  assert.throws(() => new ToolRegistry().addSource({ ...s, id: "my_source" }), /must be 1-16 of a-z 0-9/);
  assert.throws(() => new ToolRegistry().addSource(s, s), /added twice/);
});

test("tools registered for later are made on the first read, in the order of registration, and checked then", () => {
  let made = 0;
  const reg = new ToolRegistry()
    .registerLater(() => {
      made++;
      return [builtin("recall"), builtin("remember")];
    })
    .register(builtin("web_fetch"));
  assert.equal(made, 0, "nothing made before a read");
  assert.deepEqual(reg.names(), ["recall", "remember", "web_fetch"]);
  assert.ok(reg.get("remember") && reg.knows("web_fetch"));
  assert.equal(made, 1, "made once");
  // A program's own tool is checked as it is registered; a clash with a later one, when that is made.
  assert.throws(() => new ToolRegistry().registerLater(() => []).register(builtin("a__b")), /contains "__"/);
  const clash = new ToolRegistry().registerLater(() => [builtin("recall")]).register(builtin("recall"));
  assert.throws(() => clash.names(), /registered twice/);
  // A maker that fails (its module did not load) fails the read, and the next read tries it again.
  let fails = 1;
  const flaky = new ToolRegistry().registerLater(() => {
    if (fails-- > 0) throw new Error("not loaded");
    return [builtin("recall")];
  });
  assert.throws(() => flaky.list(), /not loaded/);
  assert.deepEqual(flaky.names(), ["recall"]);
});

test("each tenant gets the built-ins its settings allow, less what it denies, plus its own tools from the source", async (t) => {
  const server = await startToolServer();
  t.after(() => server.close());
  server.tools.set("ten_a", [hosted("notes", "add note"), hosted("github", "create_issue")]);
  server.tools.set("ten_b", [hosted("calendar", "list_events")]);
  const reg = new ToolRegistry()
    .register(builtin("recall"), builtin("remember"), builtin("web_fetch"))
    .addSource(httpToolSource(server));

  const a = await reg.resolve(tenant("ten_a"), all);
  assert.deepEqual(a.tools, ["recall", "remember", "web_fetch"]);
  assert.deepEqual(
    a.sourced.map((s) => [s.name, s.server, s.tool]),
    [
      ["mcp__github__create_issue", "github", "create_issue"],
      [a.sourced[1]!.name, "notes", "add note"],
    ],
  );
  assert.match(a.sourced[1]!.name, /^mcp__notes__add_note_[0-9a-f]{10}$/);
  assert.deepEqual(
    { risk: a.sourced[0]!.risk, decision: a.sourced[0]!.defaultDecision },
    { risk: "medium", decision: "ask" },
    "unvetted tools ask by default",
  );

  const b = await reg.resolve(tenant("ten_b"), { allow: ["recall"], deny: [], sources: true });
  assert.deepEqual(b.tools, ["recall"]);
  assert.deepEqual(
    b.sourced.map((s) => s.name),
    ["mcp__calendar__list_events"],
    "a tenant never sees another's tools",
  );

  const denied = await reg.resolve(tenant("ten_a"), {
    allow: null,
    deny: ["web_fetch", "mcp__github__*"],
    sources: true,
  });
  assert.deepEqual(denied.tools, ["recall", "remember"]);
  assert.deepEqual(
    denied.sourced.map((s) => s.server),
    ["notes"],
  );

  const reportOnly = await reg.resolve(tenant("ten_a"), { allow: ["recall"], deny: [], sources: false });
  assert.deepEqual(reportOnly, { tools: ["recall"], sourced: [] });
  assert.equal(server.lists.get("ten_a"), 2, "a turn without sources does not ask them");

  // The turn's view calls through the source, with arguments checked against the published schema.
  const view = reg.view(a);
  const issue = view.get("mcp__github__create_issue")!;
  assert.deepEqual(issue.jsonSchema, schema, "the model is shown the schema as published");
  assert.equal(issue.untrusted, true);
  assert.equal(issue.input.safeParse({ q: 1 }).success, false);
  assert.equal(view.get("mcp__calendar__list_events"), undefined);
  assert.deepEqual(
    view.list().map((x) => x.name),
    ["recall", "remember", "web_fetch", "mcp__github__create_issue", a.sourced[1]!.name],
  );
});

test("a source that fails or hangs costs its tools for this turn, not the turn; the log names the source, never its message", async () => {
  const logs: LogRecord[] = [];
  const hang: ToolSource = {
    id: "slow",
    list: (_t, signal) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")))),
    call: async () => null,
  };
  const never: ToolSource = { id: "never", list: () => new Promise(() => {}), call: async () => null };
  const fails: ToolSource = {
    id: "fails",
    list: async () => {
      throw new Error("https://user:tok3n@example.com refused");
    },
    call: async () => null,
  };
  const good: ToolSource = { id: "good", list: async () => [hosted("s", "t")], call: async () => null };
  const reg = new ToolRegistry({ log: (r) => logs.push(r), limits: { listMs: 100 } })
    .register(builtin("recall"))
    .addSource(hang, never, fails, good);
  const started = Date.now();
  const r = await reg.resolve(tenant("ten_a"), all);
  assert.ok(Date.now() - started < 5_000, "bounded by the listing limit");
  assert.deepEqual(r.tools, ["recall"]);
  assert.deepEqual(
    r.sourced.map((s) => s.name),
    ["good__s__t"],
  );
  assert.deepEqual(logs.map((l) => l.msg).sort(), [
    "the tools of source fails are left out of this turn: its list failed",
    "the tools of source never are left out of this turn: its list failed",
    "the tools of source slow are left out of this turn: its list failed",
  ]);
  assert.doesNotMatch(JSON.stringify(logs), /tok3n/);
});

test("what a source lists is bounded: malformed entries and oversized schemas are left out, descriptions cut, at most totalTools in all", async () => {
  const listed: unknown[] = [
    null,
    { server: 1, name: "x" },
    { server: "s", name: "no schema" },
    { server: "s", name: "array schema", inputSchema: [] },
    hosted("s", "huge", { inputSchema: { type: "object", description: "x".repeat(20_000) } }),
    hosted("s", "wordy", { description: "w".repeat(5_000), risk: "extreme" as never, defaultDecision: "allow" }),
    ...Array.from({ length: 10 }, (_, i) => hosted("many", `t${String(i).padStart(2, "0")}`)),
  ];
  const source: ToolSource = { id: "mcp", list: async () => listed as SourceTool[], call: async () => null };
  const reg = new ToolRegistry({ limits: { totalTools: 8 } })
    .register(builtin("recall"), builtin("remember"))
    .addSource(source);
  const r = await reg.resolve(tenant("ten_a"), all);
  assert.equal(r.tools.length + r.sourced.length, 8);
  assert.deepEqual(
    r.sourced.map((s) => s.tool),
    ["t00", "t01", "t02", "t03", "t04", "t05"],
    "the first in name order",
  );
  const more = await new ToolRegistry().addSource(source).resolve(tenant("ten_a"), all);
  const wordy = more.sourced.find((s) => s.tool === "wordy")!;
  assert.equal(wordy.description.length, 1_000);
  assert.equal(wordy.risk, "medium", "an unknown risk is read as medium");
  assert.equal(wordy.defaultDecision, "allow", "a source may say its tool needs no approval");
  assert.equal(
    more.sourced.some((s) => s.tool === "huge"),
    false,
  );
  assert.equal(more.sourced.length, 11);
});

test("a source's tool runs again by itself after its worker died mid-call only when it says so (rerun: true); any other asks a person, turns recorded before it too", async () => {
  const source: ToolSource = {
    id: "mcp",
    list: async () => [
      hosted("s", "reads", { rerun: true }),
      hosted("s", "acts"),
      hosted("s", "odd", { rerun: "yes" as never }),
    ],
    call: async () => null,
  };
  const reg = new ToolRegistry().addSource(source);
  const r = await reg.resolve(tenant("ten_a"), all);
  assert.deepEqual(
    r.sourced.map((s) => [s.tool, s.rerun]),
    [
      ["acts", undefined],
      ["odd", undefined],
      ["reads", true],
    ],
    "recorded only when the source says true",
  );
  const view = reg.view(r);
  const answers = await Promise.all(
    ["mcp__s__reads", "mcp__s__acts", "mcp__s__odd"].map((n) => view.get(n)!.rerun!({}, tenant("ten_a"))),
  );
  assert.deepEqual(answers, [true, false, false]);
  const recordedBefore = reg.view({
    tools: [],
    sourced: [
      {
        name: "mcp__s__old",
        source: "mcp",
        server: "s",
        tool: "old",
        description: "",
        inputSchema: { type: "object" },
        risk: "medium",
        defaultDecision: "ask",
      },
    ],
  });
  assert.equal(await recordedBefore.get("mcp__s__old")!.rerun!({}, tenant("ten_a")), false);
});

test("a schema's regular expressions are never run: a catastrophic pattern validates in linear time (the server checks it)", () => {
  const reg = new ToolRegistry().addSource({ id: "mcp", list: async () => [], call: async () => null });
  const evil = {
    type: "object",
    properties: { q: { type: "string", pattern: "^(a+)+$" } },
    patternProperties: { "^(b+)+$": { type: "number" } },
  };
  const view = reg.view({
    tools: [],
    sourced: [
      {
        name: "mcp__s__t",
        source: "mcp",
        server: "s",
        tool: "t",
        description: "",
        inputSchema: evil,
        risk: "low",
        defaultDecision: "allow",
      },
    ],
  });
  const tool = view.get("mcp__s__t")!;
  const started = Date.now();
  assert.equal(tool.input.safeParse({ q: `${"a".repeat(5_000)}!` }).success, true);
  assert.ok(Date.now() - started < 1_000);
  assert.equal(tool.input.safeParse({ q: 5 }).success, false, "the rest of the schema still holds");
  assert.deepEqual(tool.jsonSchema, evil, "the model is still shown the schema as published");
});

test("a turn recorded before tools were resolved per tenant (tools: null, nothing sourced) replays with every built-in", () => {
  const reg = new ToolRegistry().register(builtin("recall"), builtin("remember"));
  assert.deepEqual(
    reg
      .view({ tools: null })
      .list()
      .map((t) => t.name),
    ["recall", "remember"],
  );
  assert.deepEqual(
    reg
      .view({ tools: ["remember", "gone"] })
      .list()
      .map((t) => t.name),
    ["remember"],
    "a built-in removed since is no longer offered",
  );
  const orphan = reg.view({
    tools: [],
    sourced: [
      {
        name: "old__s__t",
        source: "old",
        server: "s",
        tool: "t",
        description: "",
        inputSchema: { type: "object" },
        risk: "low",
        defaultDecision: "allow",
      },
    ],
  });
  return assert.rejects(orphan.get("old__s__t")!.run({}, {} as never), /tool source "old" is not configured/);
});
