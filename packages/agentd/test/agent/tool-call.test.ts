import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Kernel, openSqliteStore, workflow } from "@agentd/kernel";
import { z } from "zod";
import { approvals } from "../../src/agent/approvals.ts";
import type { TurnContext } from "../../src/agent/context.ts";
import { policies } from "../../src/agent/policy.ts";
import { CALL_STAGES, runToolCall } from "../../src/agent/tool-call/chain.ts";
import { cut, fence, OUTPUT_STAGES, redact } from "../../src/agent/tool-call/output.ts";
import type { CallStage } from "../../src/agent/tool-call/types.ts";
import type { Tool } from "../../src/tools/types.ts";
import { createRedactor } from "../../src/vault/redact.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { until } from "../support/wait.ts";

const echo = (name: string, over: Partial<Tool> = {}): Tool => ({
  name,
  description: name,
  input: z.object({ text: z.string() }),
  risk: "low",
  defaultDecision: "allow",
  run: async (a) => (a as { text: string }).text,
  ...over,
});

test("output stages: every vault value goes before the cut, the fence is never cut, and a failure is not fenced", () => {
  const secret = "sk-live-0123456789abcdef";
  const tool = echo("page", { untrusted: true, maxOutputChars: 20 });
  const redactor = createRedactor([secret]);
  const through = (text: string, ok: boolean) =>
    OUTPUT_STAGES.reduce((t, s) => s.apply(t, { tool, ok, redactor }), text);
  assert.deepEqual(OUTPUT_STAGES, [redact, cut, fence]);
  // The secret straddles the cut at 20: redacting first leaves none of it.
  const out = through(`0123456789${secret}`, true);
  assert.equal(out, `<untrusted source="page">\n0123456789[secret]\n</untrusted>`);
  const long = through("x".repeat(50), true);
  assert.match(long, /^<untrusted source="page">\nx{20}\n\[cut: 30 more characters\]\n<\/untrusted>$/);
  assert.equal(through("error: boom", false), "error: boom");
});

for (const b of BACKENDS) {
  describe(`the tool call chain (${b.name})`, () => {
    test("the journal keeps its shape: policy, then ask / the decision / settle when asked, then tool, each named <model step>:<call id>", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b, { tools: [echo("shout")] });
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "shout", pattern: "*quiet*", decision: "deny" }, Date.now());
      await policies.set(scope, { tool: "shout", pattern: "*ask*", decision: "ask" }, Date.now());
      model.script(
        {
          toolCalls: [
            { id: "c1", name: "shout", arguments: { text: "hello" } },
            { id: "c2", name: "shout", arguments: { text: "quiet please" } },
            { id: "c3", name: "shout", arguments: { text: "ask first" } },
            { id: "c4", name: "shout", arguments: { text: 7 } },
          ],
        },
        { text: "done" },
      );
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "go" });
      const pending = await until(async () => (await approvals.list(scope))[0], "the approval");
      await approvals.decide(scope, pending.id, "once", "tester", Date.now(), app.kernel);
      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "done");
      const journal = await app.kernel.journal(r.runId);
      assert.deepEqual(
        journal.map((e) => `${e.kind} ${e.name}`),
        [
          "step context",
          "step model:0",
          "step policy:0:c1",
          "step tool:0:c1",
          "step policy:0:c2",
          "step policy:0:c3",
          "step ask:0:c3",
          `event approval:${pending.id}`,
          "step settle:0:c3",
          "step tool:0:c3",
          "step model:1",
          "step reply",
          "step deliver",
        ],
      );
      const value = (name: string) => journal.find((e) => e.name === name)!.value;
      assert.deepEqual(value("policy:0:c1"), { decision: "allow", rule: "default for shout (low risk)" });
      assert.deepEqual(value("tool:0:c1"), { ok: true, output: "hello" });
      assert.deepEqual(value("policy:0:c2"), { decision: "deny", rule: "deny shout *quiet*" });
      assert.deepEqual(Object.keys(value("ask:0:c3") as object).sort(), ["callHash", "id"]);
      assert.deepEqual(value("tool:0:c3"), { ok: true, output: "ask first" });
      const answers = model.requests[1]!.body.messages.filter((m: { role: string }) => m.role === "tool").map(
        (m: { content: string }) => m.content,
      );
      assert.deepEqual(answers.slice(0, 3), [
        "hello",
        "denied by policy (deny shout *quiet*); do not retry this call",
        "ask first",
      ]);
      assert.match(answers[3], /^error: invalid arguments for shout: text: /);
    });

    test("a stage added to the chain answers before the policy is read, and only for the tools it applies to", async (t) => {
      const { app, tenantId } = await testAgentd(t, b, { tools: [echo("shout"), echo("whisper")] });
      const dir = mkdtempSync(join(tmpdir(), "agentd-chain-"));
      const store = await openSqliteStore(join(dir, "k.db"));
      const quietHours: CallStage = {
        name: "quiet hours",
        appliesTo: (tool) => tool.name === "shout",
        run: async (c) => (String((c.args as { text: string }).text).includes("!") ? "not now: quiet hours" : null),
      };
      const stages = [CALL_STAGES[0]!, quietHours, ...CALL_STAGES.slice(1)];
      const tc = { timezone: "UTC", approvalTimeoutMs: 60_000 } as TurnContext;
      const tools = app.tools.view({ tools: ["shout", "whisper"] });
      const flow = workflow<{ name: string; text: string }, string>("chain.test", async (ctx, call) => {
        const answer = await runToolCall(
          {
            ctx,
            deps: app.deps,
            input: { tenantId, sessionId: "none", seq: 1 } as never,
            tc,
            scope: app.tenants.scope(tenantId),
          },
          tools,
          0,
          { id: "c1", name: call.name, input: { text: call.text } },
          stages,
        );
        return answer.output;
      });
      const kernel = new Kernel({ store, workflows: [flow], logger: () => {} });
      t.after(async () => {
        await kernel.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      });
      kernel.startWorker();
      const go = async (name: string, text: string) => {
        const h = await kernel.start(flow, { name, text });
        return { out: await kernel.result<string>(h.id), steps: (await kernel.journal(h.id)).map((e) => e.name) };
      };
      assert.deepEqual(
        await go("shout", "hey!"),
        { out: "not now: quiet hours", steps: [] },
        "answered before any step",
      );
      assert.deepEqual(await go("shout", "hey"), { out: "hey", steps: ["policy:0:c1", "tool:0:c1"] });
      assert.deepEqual(
        await go("whisper", "hey!"),
        { out: "hey!", steps: ["policy:0:c1", "tool:0:c1"] },
        "a stage for shout leaves whisper alone",
      );
      assert.deepEqual(await go("nope", "x"), { out: "error: there is no tool named nope", steps: [] });
    });
  });
}
