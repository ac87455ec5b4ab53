import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sessions } from "../src/sessions/store.ts";
import { policies } from "../src/agent/policy.ts";
import { approvals } from "../src/agent/approvals.ts";
import { BACKENDS } from "./support/backends.ts";
import { testAgentd } from "./support/app.ts";
import { until } from "./support/wait.ts";

const fast = { modelRetry: { maxAttempts: 4, initialInterval: "10ms", backoffFactor: 1 } };

for (const b of BACKENDS) {
  describe(`agent loop (${b.name})`, () => {
    test("a message becomes one turn: the model streams, the reply is saved once, usage is counted", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      // Tokens 20 ms apart are read apart, so each is a chunk (tokens read together are one: agent/stream-chunks.test.ts).
      model.script({ text: "Hello there, friend.", tokenDelayMs: 20 });
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "Hi" });
      const chunks: { t: string; d?: string }[] = [];
      for await (const c of app.kernel.subscribe<{ t: string; d?: string }>(r.runId)) chunks.push(c.data);
      const out = await app.kernel.result<{ text: string; modelCalls: number }>(r.runId);
      assert.equal(out.text, "Hello there, friend.");
      assert.ok(chunks.filter((c) => c.t === "text").length >= 3, "tokens arrive as separate chunks");
      assert.equal(
        chunks
          .filter((c) => c.t === "text")
          .map((c) => c.d)
          .join(""),
        out.text,
      );
      assert.equal(chunks.at(-1)?.t, "done");
      const scope = app.tenants.scope(tenantId);
      const hist = await sessions.history(scope, r.session.id);
      assert.deepEqual(
        hist.map((m) => [m.role, m.content]),
        [
          ["user", "Hi"],
          ["assistant", "Hello there, friend."],
        ],
      );
      assert.equal(model.calls, 1);
      const used = await scope.get<{ tokens: number; model_calls: number }>(
        "SELECT tokens, model_calls FROM os_usage WHERE tenant_id = $tenant",
      );
      assert.equal(Number(used?.model_calls), 1);
      assert.ok(Number(used?.tokens) > 0);
      // Lean: the whole first request (system prompt + every tool definition) stays small.
      assert.ok(model.requests[0]!.raw.length < 6_000, `first request is ${model.requests[0]!.raw.length} bytes`);
    });

    test("tool calls are validated, run as steps, and their results go back to the model", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      model.script(
        {
          toolCalls: [
            { name: "remember", arguments: { content: "likes green tea" } },
            { name: "remember", arguments: { content: 42 } },
            { name: "nope", arguments: {} },
          ],
        },
        { text: "Noted." },
      );
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "I like green tea" });
      const out = await app.kernel.result<{ text: string; modelCalls: number }>(r.runId);
      assert.equal(out.text, "Noted.");
      assert.equal(out.modelCalls, 2);
      const mem = await app.memory.search(app.tenants.scope(tenantId), "tea");
      assert.deepEqual(
        mem.map((m) => m.content),
        ["likes green tea"],
        "only the valid call ran",
      );
      const toolMsgs = model.requests[1]!.body.messages.filter((m: { role: string }) => m.role === "tool").map(
        (m: { content: string }) => m.content,
      );
      assert.equal(toolMsgs.length, 3);
      assert.match(toolMsgs[1], /invalid arguments for remember: content/);
      assert.match(toolMsgs[2], /no tool named nope/);
    });

    test("policy: deny never runs the tool; ask waits for a person, once runs it, always adds an allow rule", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "remember", pattern: "*secret plan*", decision: "deny" }, Date.now());
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      model.script(
        { toolCalls: [{ name: "remember", arguments: { content: "the secret plan is X" } }] },
        { text: "won't" },
      );
      const denied = await app.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c",
        text: "remember my plan",
      });
      await app.kernel.result(denied.runId);
      assert.equal(await app.memory.count(scope), 0);
      assert.match(JSON.stringify(model.requests[1]!.body.messages), /denied by policy/);

      model.script(
        { toolCalls: [{ name: "remember", arguments: { content: "birthday is May 3" } }] },
        { text: "Saved." },
      );
      const asked = await app.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c",
        text: "remember my birthday",
      });
      const pending = await until(async () => (await approvals.list(scope))[0]);
      assert.equal(pending.tool, "remember");
      assert.equal(pending.subject, JSON.stringify({ content: "birthday is May 3" }));
      assert.equal(await app.memory.count(scope), 0, "nothing runs before the approval");
      await approvals.decide(scope, pending.id, "always", "tester", Date.now(), app.kernel);
      await assert.rejects(
        approvals.decide(scope, pending.id, "deny", "tester", Date.now(), app.kernel),
        /already approved/,
      );
      assert.equal((await app.kernel.result<{ text: string }>(asked.runId)).text, "Saved.");
      assert.equal(await app.memory.count(scope), 1);
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved");
      assert.ok(
        (await policies.list(scope)).some((p) => p.tool === "remember" && p.pattern === "" && p.decision === "allow"),
      );
    });

    test("an approval nobody answers times out as a denial", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b, { config: { approvalTimeout: "300ms" } });
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      model.script({ toolCalls: [{ name: "remember", arguments: { content: "x" } }] }, { text: "ok, not saved" });
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "remember x" });
      await app.kernel.result(r.runId);
      assert.equal(await app.memory.count(scope), 0);
      assert.equal((await approvals.list(scope, "expired")).length, 1);
      assert.match(JSON.stringify(model.requests[1]!.body.messages), /timeout means deny/);
    });

    test("two people deciding one approval at once: one wins, the other is told it was already decided, and the run acts on the winner", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      model.script({ toolCalls: [{ name: "remember", arguments: { content: "race" } }] }, { text: "done" });
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "race" });
      const a = await until(async () => (await approvals.list(scope, "pending"))[0]);
      const results = await Promise.allSettled([
        approvals.decide(scope, a.id, "once", "ann", Date.now(), app.kernel),
        approvals.decide(scope, a.id, "deny", "ben", Date.now(), app.kernel),
      ]);
      const won = results.filter((x) => x.status === "fulfilled");
      const lost = results.filter((x) => x.status === "rejected");
      assert.equal(won.length, 1, "exactly one decision is reported as taken");
      assert.match(String((lost[0] as PromiseRejectedResult).reason), /already/);
      await app.kernel.result(r.runId);
      const winner = (won[0] as PromiseFulfilledResult<{ status: string; decidedBy: string }>).value;
      const row = await approvals.get(scope, a.id);
      assert.deepEqual(
        [row?.status, row?.decidedBy],
        [winner.status, winner.decidedBy],
        "the run acted on the decision reported as taken",
      );
      assert.equal(await app.memory.count(scope), winner.status === "approved" ? 1 : 0);
    });

    test("a model server that numbers its call ids the same in every turn still gets a fresh approval per turn", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      const call = { name: "remember", arguments: { content: "same" }, id: "call_0" };
      const decideFirstPending = async (choice: "once" | "deny") => {
        const a = await until(async () => (await approvals.list(scope, "pending"))[0]);
        await approvals.decide(scope, a.id, choice, "tester", Date.now(), app.kernel);
        return a;
      };
      model.script({ toolCalls: [call] }, { text: "first" });
      const one = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "one" });
      const first = await decideFirstPending("deny");
      await app.kernel.result(one.runId);
      model.script({ toolCalls: [call] }, { text: "second" });
      const two = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "two" });
      const second = await decideFirstPending("once");
      assert.notEqual(second.id, first.id, "a new approval, not the decided one of the turn before");
      assert.equal((await app.kernel.result<{ text: string }>(two.runId)).text, "second");
      assert.equal(await app.memory.count(scope), 1, "approved in the second turn, so it ran");
    });

    test("turns of one session run one at a time, in order, each seeing the replies before it", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      model.fallback = (req) => ({
        text: `re ${req.body.messages.filter((m: { role: string }) => m.role === "user").length}`,
        tokenDelayMs: 2,
      });
      const rs = [];
      for (const text of ["one", "two", "three"])
        rs.push(await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text }));
      for (const r of rs) await app.kernel.result(r.runId);
      const scope = app.tenants.scope(tenantId);
      const hist = await sessions.recent(scope, rs[0]!.session.id, 20);
      assert.deepEqual(
        hist.map((m) => m.content),
        ["one", "re 1", "two", "re 2", "three", "re 3"],
      );
      const seen = model.requests.map((r) => r.body.messages.slice(1).map((m: { content: string }) => m.content));
      assert.deepEqual(
        seen,
        [["one"], ["one", "re 1", "two"], ["one", "re 1", "two", "re 2", "three"]],
        "each turn sees the replies before it, not later messages",
      );
    });

    test("limits: iterations, and the daily token budget stops turns without a model call", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b, { tenantSettings: { maxIterations: 2 } });
      model.fallback = () => ({ toolCalls: [{ name: "jobs", arguments: {} }], usage: { prompt: 10, completion: 5 } });
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "loop" });
      const out = await app.kernel.result<{ stopped: string; modelCalls: number }>(r.runId);
      assert.deepEqual([out.stopped, out.modelCalls], ["iterations", 2]);
      await app.tenants.update(tenantId, { settings: { dailyTokenBudget: 20 } });
      const calls = model.calls;
      const again = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "more" });
      const out2 = await app.kernel.result<{ stopped: string; text: string }>(again.runId);
      assert.equal(out2.stopped, "budget");
      assert.equal(model.calls, calls, "no model call once the budget is spent");
    });

    test("the model endpoint: 429, 500 and a broken stream are retried (401: model-unavailable.test.ts)", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b, { config: fast });
      model.script(
        { status: 429, retryAfterSeconds: 0 },
        { status: 500 },
        { text: "partial answer that brea", breakAfterChunks: 3 },
        { text: "Fine now." },
      );
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "hi" });
      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "Fine now.");
      assert.equal(model.calls, 4);
      const hist = await sessions.history(app.tenants.scope(tenantId), r.session.id);
      assert.deepEqual(
        hist.map((m) => m.content),
        ["hi", "Fine now."],
        "a broken stream leaves no half reply behind",
      );
    });

    test("an unknown sender gets instructions, never a turn; a pairing code binds them", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b);
      const msg = {
        channel: "sms",
        externalId: "+15550001",
        conversation: "+15550001",
        text: "hello?",
        sourceKey: "m1",
      };
      const o = await app.inbox.fromIdentity(msg);
      assert.equal(o.kind, "unpaired");
      assert.equal((await app.kernel.listRuns({})).length, 0);
      const { code } = await app.tenants.createPairingCode(tenantId);
      const paired = await app.inbox.fromIdentity({ ...msg, text: `/start ${code}`, sourceKey: "m2" });
      assert.deepEqual([paired.kind, paired.kind !== "unpaired" && paired.tenantId], ["paired", tenantId]);
      const turn = await app.inbox.fromIdentity({ ...msg, text: "now?", sourceKey: "m3" });
      assert.equal(turn.kind, "turn");
      if (turn.kind === "turn") await app.kernel.result(turn.received.runId);
      assert.equal(model.calls, 1);
      const dup = await app.inbox.fromIdentity({ ...msg, text: "now?", sourceKey: "m3" });
      assert.ok(dup.kind === "turn" && dup.received.duplicate, "a redelivered message starts no second turn");
      assert.equal(model.calls, 1);
    });

    test("old messages are folded into a summary after their facts are saved to memory", async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b, { config: { historyWindow: 4, compactAfter: 2 } });
      model.fallback = (req) =>
        req.body.messages[0]?.content?.startsWith?.("You maintain the memory")
          ? { text: "FACTS:\n- The user's dog is called Rex\nSUMMARY:\nThe user talked about their dog." }
          : { text: "ok" };
      let last: Awaited<ReturnType<typeof app.inbox.receive>> | undefined;
      for (let i = 0; i < 4; i++) {
        last = await app.inbox.receive({
          tenantId,
          channel: "http",
          conversation: "c",
          text: i === 0 ? "My dog is called Rex" : `msg ${i}`,
        });
        await app.kernel.result(last.runId);
      }
      const scope = app.tenants.scope(tenantId);
      const s = await sessions.require(scope, last!.session.id);
      assert.equal(s.summary, "The user talked about their dog.");
      assert.ok(s.summarizedSeq > 0);
      assert.deepEqual(
        (await app.memory.search(scope, "dog Rex")).map((m) => m.content),
        ["The user's dog is called Rex"],
      );
      model.script({ text: "Rex!" });
      const next = await app.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c",
        text: "what is my dog called?",
      });
      await app.kernel.result(next.runId);
      const req = model.requests.at(-1)!.body;
      assert.match(req.messages[0].content, /Summary of the earlier conversation:\nThe user talked about their dog\./);
      assert.ok(req.messages.length <= 1 + 4, "only the window of recent messages is sent");
    });
  });
}
