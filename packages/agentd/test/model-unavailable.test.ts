import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LogRecord } from "@agentd/kernel";
import type { Delivery } from "../src/channels/ports.ts";
import { BACKGROUND_UNAVAILABLE_REPLY, NO_MODEL_REPLY, UNAVAILABLE_REPLY } from "../src/agent/unavailable.ts";
import { sessions } from "../src/sessions/store.ts";
import { ADMIN, served } from "./support/api.ts";
import { BACKENDS } from "./support/backends.ts";
import { startModelServer } from "./support/model-server.ts";
import { until } from "./support/wait.ts";

const fast = { modelRetry: { maxAttempts: 4, initialInterval: "10ms", backoffFactor: 1 } };

/** Words of the inside that must never reach the person: step names, error codes, the kernel's advice. */
const INTERNAL = /model:0|ECONNREFUSED|HTTP \d|attempt|kernel|retry\(|run [0-9a-f-]{8}|OPENAI_API_KEY/;

/** A model endpoint that refuses connections (nothing listens on its port) until `up()` starts one there. */
async function downModel(t: { after(fn: () => unknown): void }) {
  const first = await startModelServer();
  const port = Number(new URL(first.url).port);
  await first.close();
  return {
    server: first,
    async up() {
      const s = await startModelServer({ port });
      t.after(() => s.close());
      return s;
    },
  };
}

for (const b of BACKENDS) {
  describe(`a model that cannot answer (${b.name})`, () => {
    async function setup(t: { after(fn: () => unknown): void }, opts: Parameters<typeof served>[2] = {}) {
      const s = await served(t, b, { config: fast, ...opts });
      const sent: Delivery[] = [];
      s.app.channels.register({ channel: "test", deliver: async (d) => void sent.push(d) });
      const say = (text: string) =>
        s.app.inbox.receive({ tenantId: s.tenantId, channel: "test", conversation: "c", text });
      const history = async (sessionId: string) =>
        (await sessions.history(s.app.tenants.scope(s.tenantId), sessionId)).map((m) => [m.role, m.content]);
      return { ...s, sent, say, history };
    }

    /** "first question" asked while the model is down (its turn failed), then the model back up. */
    async function failedThenBack(t: { after(fn: () => unknown): void }) {
      const model = await downModel(t);
      const s = await setup(t, { model: model.server });
      const first = await s.say("first question");
      await assert.rejects(s.app.kernel.result(first.runId));
      return { s, first, back: await model.up() };
    }

    test("unreachable: the person is told once, early, in plain words; nothing is stored; the turn fails for the operator; a retry answers the kept message", async (t) => {
      const model = await downModel(t);
      const logged: LogRecord[] = [];
      const s = await setup(t, { model: model.server, logger: (r) => logged.push(r) });
      const r = await s.say("what's on today?");
      const chunks: { t: string; attempt?: number }[] = [];
      for await (const c of s.app.kernel.subscribe<{ t: string; attempt?: number }>(r.runId)) chunks.push(c.data);
      await assert.rejects(s.app.kernel.result(r.runId), /failed/);

      // The person: one short human message, sent after the second failed attempt, not after the last.
      assert.deepEqual(
        s.sent.map((d) => [d.kind, d.text]),
        [["notice", UNAVAILABLE_REPLY]],
      );
      assert.doesNotMatch(UNAVAILABLE_REPLY, INTERNAL);
      const told = chunks.findIndex((c) => c.t === "unavailable");
      const third = chunks.findIndex((c) => c.t === "start" && c.attempt === 3);
      assert.ok(
        told > 0 && third > told,
        `told before the third attempt: ${chunks.map((c) => c.t + (c.attempt ?? "")).join(" ")}`,
      );
      // Nothing internal in the conversation (the model would read it later).
      assert.deepEqual(await s.history(r.session.id), [["user", "what's on today?"]]);

      // The operator: a failed run with its cause, in the dead-letter list and the metrics.
      const failed = await s.app.kernel.failedRuns();
      assert.deepEqual(
        failed.map((x) => x.id),
        [r.runId],
      );
      assert.match(failed[0]!.error!.message, /ECONNREFUSED/);
      assert.match((await s.call("GET", "/v1/runs?status=failed")).body.runs[0].id, new RegExp(r.runId));
      assert.match((await s.call("GET", "/metrics", { token: ADMIN })).text, /^agentd_runs\{status="failed"\} 1$/m);
      const line = logged.find((l) => l.msg === "run failed" && l.runId === r.runId);
      assert.match(String(line?.error), /ECONNREFUSED/, "the log says which turn failed, and why");

      // The model is back: a retry answers the kept message, once, and the person is not told again.
      const back = await model.up();
      assert.equal((await s.call("POST", `/v1/runs/${r.runId}/retry`)).status, 202);
      const out = await s.app.kernel.result<{ text: string; stopped: string }>(r.runId);
      assert.deepEqual([out.stopped, out.text], ["answer", "ok: what's on today?"]);
      assert.deepEqual(
        s.sent.map((d) => d.kind),
        ["notice", "reply"],
      );
      assert.deepEqual(await s.history(r.session.id), [
        ["user", "what's on today?"],
        ["assistant", "ok: what's on today?"],
      ]);
      assert.ok(!back.requests[0]!.raw.includes("unavailable"), "the notice is never fed to the model");
    });

    test("the next message answers the kept one; the failed turn, retried later, has nothing left to say", async (t) => {
      const { s, first, back } = await failedThenBack(t);
      const next = await s.say("second question");
      assert.equal((await s.app.kernel.result<{ text: string }>(next.runId)).text, "ok: second question");
      const seen = back.requests[0]!.body.messages.slice(1).map((m: { role: string; content: string }) => [
        m.role,
        m.content,
      ]);
      assert.deepEqual(
        seen,
        [
          ["user", "first question"],
          ["user", "second question"],
        ],
        "the next turn sees the kept message",
      );

      await s.app.kernel.retry(first.runId);
      const out = await s.app.kernel.result<{ stopped: string; messageId: string | null }>(first.runId);
      assert.deepEqual([out.stopped, out.messageId], ["superseded", null]);
      assert.equal(back.calls, 1, "no model call for a message already answered");
      assert.deepEqual(
        s.sent.map((d) => d.kind),
        ["notice", "reply"],
      );
      assert.deepEqual(await s.history(first.session.id), [
        ["user", "first question"],
        ["user", "second question"],
        ["assistant", "ok: second question"],
      ]);
    });

    test("a reminder answered in between does not count as answering the person: their failed turn, retried, still answers", async (t) => {
      const { s, first, back } = await failedThenBack(t);
      back.fallback = (req) => ({ text: `ok: ${req.body.messages.at(-1).content}` });
      const reminder = await s.app.inbox.background({
        tenantId: s.tenantId,
        sessionId: first.session.id,
        prompt: "water the plants",
        sourceKey: "job:2",
        label: "a reminder",
      });
      await s.app.kernel.result(reminder.runId);
      await s.app.kernel.retry(first.runId);
      const out = await s.app.kernel.result<{ stopped: string; text: string }>(first.runId);
      assert.deepEqual([out.stopped, out.text], ["answer", "ok: first question"]);
    });

    test("a reminder's turn that cannot reach the model tells the person their task is delayed, not that a message of theirs waits", async (t) => {
      const model = await downModel(t);
      const s = await setup(t, { model: model.server });
      const first = await s.say("hi");
      await assert.rejects(s.app.kernel.result(first.runId));
      const r = await s.app.inbox.background({
        tenantId: s.tenantId,
        sessionId: first.session.id,
        prompt: "remind: water the plants",
        sourceKey: "job:1",
        label: "a reminder",
      });
      await assert.rejects(s.app.kernel.result(r.runId));
      assert.deepEqual(
        s.sent.map((d) => d.text),
        [UNAVAILABLE_REPLY, BACKGROUND_UNAVAILABLE_REPLY],
      );
      assert.doesNotMatch(BACKGROUND_UNAVAILABLE_REPLY, INTERNAL);
    });

    test("a refused key is told at once (no retries), and the run's error names the setting to fix", async (t) => {
      const s = await setup(t);
      s.model.script({ status: 401 });
      const r = await s.say("hi");
      await assert.rejects(
        s.app.kernel.result(r.runId),
        /refused the API key \(HTTP 401\): check OPENAI_API_KEY or AGENTD_MODEL_API_KEY/,
      );
      assert.equal(s.model.calls, 1, "401 is not retried");
      assert.deepEqual(
        s.sent.map((d) => d.text),
        [UNAVAILABLE_REPLY],
      );
      assert.deepEqual(await s.history(r.session.id), [["user", "hi"]]);
    });

    test("no model configured: the person is told so in a sentence, the run fails saying how to configure one", async (t) => {
      const s = await setup(t, { noModel: true });
      const r = await s.say("hello?");
      await assert.rejects(
        s.app.kernel.result(r.runId),
        /no model is configured: set OPENAI_API_KEY, or AGENTD_MODEL_BASE_URL/,
      );
      assert.deepEqual(
        s.sent.map((d) => [d.kind, d.text]),
        [["notice", NO_MODEL_REPLY]],
      );
      assert.doesNotMatch(NO_MODEL_REPLY, INTERNAL);
      assert.deepEqual(await s.history(r.session.id), [["user", "hello?"]]);
      assert.equal(s.model.calls, 0);
      const run = await s.app.kernel.getRun(r.runId);
      assert.doesNotMatch(run!.error!.message, /has no model is/);
    });
  });
}

test("the stream tells an API client the same sentence, while the run keeps trying", async (t) => {
  const model = await downModel(t);
  const s = await served(t, BACKENDS[0]!, { model: model.server, config: fast });
  const events = await s.stream("POST", "/v1/messages", { body: { text: "anyone there?" } });
  const told = events.find((e) => e.event === "unavailable");
  assert.equal(told?.data.text, UNAVAILABLE_REPLY);
  assert.equal(events.at(-1)?.event, "error", "the stream ends when the run has failed");
  await until(async () => (await s.app.kernel.failedRuns()).length === 1, "the failed run");
});
