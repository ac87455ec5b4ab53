import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BACKENDS } from "./support/backends.ts";

import { ADMIN, served, waitFor } from "./support/api.ts";

for (const b of BACKENDS) {
  describe(`HTTP API: messages, streams and approvals (${b.name})`, () => {
    test("a message is accepted (202), its turn answers, and the reply is in the session; metrics count it", async (t) => {
      const s = await served(t, b);
      const made = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "fresh" } });
      const key = made.body.apiKey as string;
      const posted = await s.call("POST", "/v1/messages", { token: key, body: { text: "Hello" } });
      assert.equal(posted.status, 202);
      assert.equal(posted.body.duplicate, false);
      assert.match(posted.body.runId, /./);
      const { sessionId, runId } = posted.body;
      const messages = await waitFor(async () => {
        const r = await s.call("GET", `/v1/sessions/${sessionId}/messages`, { token: key });
        return r.body.messages.length === 2 ? r.body.messages : null;
      }, "the reply");
      assert.deepEqual(
        messages.map((m: { role: string; content: string }) => [m.role, m.content]),
        [
          ["user", "Hello"],
          ["assistant", "ok: Hello"],
        ],
      );
      const later = await s.call("GET", `/v1/sessions/${sessionId}/messages?after=${messages[0].seq}`, { token: key });
      assert.deepEqual(
        later.body.messages.map((m: { role: string }) => m.role),
        ["assistant"],
      );
      const list = await s.call("GET", "/v1/sessions", { token: key });
      assert.deepEqual(
        list.body.sessions.map((x: { id: string; channel: string; conversation: string }) => [
          x.id,
          x.channel,
          x.conversation,
        ]),
        [[sessionId, "http", "default"]],
      );
      assert.equal((await s.call("GET", `/v1/sessions/${sessionId}`, { token: key })).body.id, sessionId);
      const run = await waitFor(async () => {
        const r = await s.call("GET", `/v1/runs/${runId}`, { token: key });
        return r.body.status === "completed" ? r.body : null;
      }, "the run to complete");
      assert.equal(run.workflow, "agent.turn");
      assert.equal(run.output.text, "ok: Hello");
      assert.equal(run.leaseOwner, undefined, "no lease internals");

      const usage = await s.call("GET", "/v1/usage", { token: key });
      assert.equal(usage.body.today.modelCalls, 1);
      assert.ok(usage.body.today.tokens > 0);
      const metrics = await s.call("GET", "/metrics", { token: ADMIN });
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
      assert.match(metrics.text, /^agentd_runs\{status="completed"\} [1-9]/m);
      assert.match(metrics.text, /^agentd_tenants 2$/m);
      assert.match(metrics.text, /^agentd_model_calls_today 1$/m);
      assert.match(metrics.text, /^agentd_approvals_pending 0$/m);
      assert.match(metrics.text, /^agentd_tokens_today [1-9]\d*$/m);
    });

    test("with Accept: text/event-stream the reply streams token by token and ends after done; a stream resumes from Last-Event-ID", async (t) => {
      const s = await served(t, b);
      s.model.script({ text: "Streaming is a fine way to answer.", tokenDelayMs: 20 });
      const events = await s.stream("POST", "/v1/messages", { body: { text: "stream please", conversation: "sse" } });
      assert.equal(events[0]?.event, "accepted");
      assert.equal(events[0]?.id, undefined);
      assert.equal(events[0]?.data.duplicate, false);
      const runId = events[0]?.data.runId as string;
      assert.equal(events[1]?.event, "start");
      const texts = events.filter((e) => e.event === "text");
      assert.ok(texts.length >= 5, `${texts.length} text events`);
      assert.equal(texts.map((e) => e.data.d).join(""), "Streaming is a fine way to answer.");
      for (const e of texts) assert.deepEqual(Object.keys(e.data).sort(), ["d", "t"]);
      const done = events.at(-1)!;
      assert.equal(done.event, "done");
      assert.equal(done.data.text, "Streaming is a fine way to answer.");
      assert.match(done.data.messageId, /^msg_/);
      assert.ok(done.at - texts[0]!.at >= 60, "the first token arrived well before the end");
      const offsets = events.slice(1).map((e) => e.id as number);
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => offsets[0]! + i),
        "ids are consecutive stream offsets",
      );

      // Resume after the third text event: only what came after it, and the stream ends after done.
      const resumeAfter = texts[2]!.id as number;
      const rest = await s.stream("GET", `/v1/runs/${runId}/stream`, {
        headers: { "last-event-id": String(resumeAfter) },
      });
      assert.equal(rest[0]?.id, resumeAfter + 1);
      assert.equal(rest.at(-1)?.event, "done");
      assert.equal(rest.filter((e) => e.event === "text").length, texts.length - 3);

      // ?stream=1 works without the Accept header too.
      const res = await fetch(`${s.url}/v1/messages?stream=1`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
        body: JSON.stringify({ text: "again", conversation: "sse" }),
      });
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      const raw = await res.text();
      assert.match(raw, /^event: accepted\ndata: \{/);
      assert.match(raw, /id: \d+\nevent: done\ndata: \{"t":"done","text":"ok: again"/);
    });

    test("a retried POST with the same id is a duplicate: same message, same run, no second turn", async (t) => {
      const s = await served(t, b);
      const first = await s.call("POST", "/v1/messages", { body: { text: "only once", id: "client-1" } });
      const again = await s.call("POST", "/v1/messages", { body: { text: "only once", id: "client-1" } });
      assert.equal(first.status, 202);
      assert.equal(again.status, 202);
      assert.equal(again.body.duplicate, true);
      assert.equal(again.body.runId, first.body.runId);
      assert.equal(again.body.messageId, first.body.messageId);
      await s.app.kernel.result(first.body.runId);
      const runs = await s.call("GET", "/v1/runs");
      assert.deepEqual(
        runs.body.runs.map((r: { id: string }) => r.id),
        [first.body.runId],
      );
      const msgs = await s.call("GET", `/v1/sessions/${first.body.sessionId}/messages`);
      assert.deepEqual(
        msgs.body.messages.map((m: { role: string }) => m.role),
        ["user", "assistant"],
      );
      assert.equal(s.model.calls, 1);
      // A duplicate streamed replays the first turn's stream.
      const events = await s.stream("POST", "/v1/messages", { body: { text: "only once", id: "client-1" } });
      assert.equal(events[0]?.data.duplicate, true);
      assert.equal(events.at(-1)?.data.text, "ok: only once");
    });

    test("approvals: a tool call under an ask policy waits; deciding through the API finishes the turn", async (t) => {
      const s = await served(t, b);
      const policy = await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } });
      assert.equal(policy.status, 200);
      assert.deepEqual([policy.body.tool, policy.body.pattern, policy.body.decision], ["remember", "", "ask"]);
      assert.equal((await s.call("PUT", "/v1/policies", { body: { tool: "remembr", decision: "ask" } })).status, 400);
      assert.equal(
        (await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "maybe" } })).status,
        400,
      );
      const pol = await s.call("GET", "/v1/policies");
      assert.deepEqual(
        pol.body.policies.map((p: { tool: string; decision: string }) => [p.tool, p.decision]),
        [["remember", "ask"]],
      );
      assert.ok(
        pol.body.tools.some(
          (x: { name: string; defaultDecision: string }) => x.name === "http_request" && x.defaultDecision === "ask",
        ),
      );

      s.model.script(
        { toolCalls: [{ name: "remember", arguments: { content: "the sky is teal" } }] },
        { text: "Saved." },
      );
      const events: string[] = [];
      const streaming = s
        .stream("POST", "/v1/messages", { body: { text: "remember the sky" } })
        .then((ev) => events.push(...ev.map((e) => e.event)));
      const pending = await waitFor(
        async () => (await s.call("GET", "/v1/approvals")).body.approvals[0],
        "the approval",
      );
      assert.equal(pending.tool, "remember");
      assert.equal(pending.status, "pending");
      assert.equal(pending.subject, JSON.stringify({ content: "the sky is teal" }));
      assert.equal((await s.call("GET", "/v1/memory")).body.memories.length, 0, "nothing ran before the decision");
      const badDecision = await s.call("POST", `/v1/approvals/${pending.id}`, { body: { decision: "yes" } });
      assert.equal(badDecision.status, 400);
      assert.match(badDecision.body.error.message, /decision/);

      const decided = await s.call("POST", `/v1/approvals/${pending.id}`, { body: { decision: "once" } });
      assert.equal(decided.status, 200);
      assert.equal(decided.body.status, "approved");
      assert.equal(decided.body.decidedBy, "api");
      const again = await s.call("POST", `/v1/approvals/${pending.id}`, { body: { decision: "deny" } });
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, /already approved/);
      await streaming;
      assert.deepEqual(
        [events[0], events.includes("approval"), events.includes("tool"), events.at(-1)],
        ["accepted", true, true, "done"],
      );
      const memories = (await s.call("GET", "/v1/memory")).body.memories;
      assert.deepEqual(
        memories.map((m: { content: string }) => m.content),
        ["the sky is teal"],
      );
      assert.deepEqual((await s.call("GET", "/v1/approvals")).body.approvals, []);
      assert.equal((await s.call("GET", "/v1/approvals?status=approved")).body.approvals[0].id, pending.id);
      assert.equal((await s.call("DELETE", "/v1/policies/remember")).status, 204);
      assert.equal((await s.call("DELETE", "/v1/policies/remember")).status, 404);
    });

    test("cancelling a run settles its pending approval: no longer listed, counted or decidable; one a bare kernel cancel left pending is settled when decided", async (t) => {
      const s = await served(t, b);
      await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } });
      const ask = async (conversation: string) => {
        s.model.script({ toolCalls: [{ name: "remember", arguments: { content: conversation } }] });
        const posted = await s.call("POST", "/v1/messages", { body: { text: "remember", conversation } });
        const approval = await waitFor(
          async () =>
            (await s.call("GET", "/v1/approvals")).body.approvals.find(
              (a: { runId: string }) => a.runId === posted.body.runId,
            ),
          "the approval",
        );
        return { runId: posted.body.runId as string, approval: approval as { id: string } };
      };
      const one = await ask("a");
      assert.equal((await s.call("POST", `/v1/runs/${one.runId}/cancel`)).status, 200);
      assert.deepEqual((await s.call("GET", "/v1/approvals")).body.approvals, [], "no longer listed as pending");
      const metrics = await s.call("GET", "/metrics", { token: ADMIN });
      assert.match(metrics.text, /^agentd_approvals_pending 0$/m, "no longer counted");
      const settled = (await s.call("GET", "/v1/approvals?status=cancelled")).body.approvals;
      assert.deepEqual(
        settled.map((a: { id: string; decidedBy: string }) => [a.id, a.decidedBy]),
        [[one.approval.id, "cancel"]],
      );
      const late = await s.call("POST", `/v1/approvals/${one.approval.id}`, { body: { decision: "once" } });
      assert.equal(late.status, 409);
      assert.match(late.body.error.message, /already cancelled/);

      // Cancelled around agentd (straight through the kernel): the first decision settles it and says why.
      const two = await ask("b");
      await s.app.kernel.cancel(two.runId);
      const refused = await s.call("POST", `/v1/approvals/${two.approval.id}`, { body: { decision: "once" } });
      assert.equal(refused.status, 409);
      assert.match(refused.body.error.message, /can no longer be decided: its run has ended \(cancelled\)/);
      assert.deepEqual((await s.call("GET", "/v1/approvals")).body.approvals, []);
      assert.equal(s.model.calls, 2, "no tool ran and no turn went on");
      assert.equal((await s.call("GET", "/v1/memory")).body.memories.length, 0);
    });
  });
}
