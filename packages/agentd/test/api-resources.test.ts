import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FatalError } from "@agentd/kernel";
import { BACKENDS } from "./support/backends.ts";

import { ADMIN, served, waitFor } from "./support/api.ts";

for (const b of BACKENDS) {
  describe(`HTTP API: secrets, memory, schedules and runs (${b.name})`, () => {
    test("secrets are written and listed by name; no response carries a value; a run's journal hides a planted one", async (t) => {
      const s = await served(t, b);
      const value = "sk-planted-7f3a9c2e";
      const put = await s.call("PUT", "/v1/secrets/openai_key", { body: { value } });
      assert.equal(put.status, 204);
      assert.equal(put.text, "");
      const list = await s.call("GET", "/v1/secrets");
      assert.deepEqual(
        list.body.secrets.map((x: { name: string }) => x.name),
        ["openai_key"],
      );
      assert.ok(!list.text.includes(value));
      const badName = await s.call("PUT", "/v1/secrets/bad%20name", { body: { value } });
      assert.equal(badName.status, 400);
      assert.ok(!badName.text.includes(value));
      const badJson = await s.call("PUT", "/v1/secrets/k", {
        raw: `{"value": ${value}}`,
        headers: { "content-type": "application/json" },
      });
      assert.equal(badJson.status, 400);
      assert.ok(!badJson.text.includes(value), "a parse error does not quote the body");
      const notString = await s.call("PUT", "/v1/secrets/k", { body: { value: 12345678 } });
      assert.equal(notString.status, 400);
      assert.ok(!notString.text.includes("12345678"));

      // The person pastes the secret; the model echoes it: the journal holds it, the API shows [secret].
      const posted = await s.call("POST", "/v1/messages", { body: { text: `my key is ${value}` } });
      await s.app.kernel.result(posted.body.runId);
      const raw = JSON.stringify(await s.app.kernel.journal(posted.body.runId));
      assert.ok(raw.includes(value), "the secret was planted in the journal");
      const journal = await s.call("GET", `/v1/runs/${posted.body.runId}/journal`);
      assert.equal(journal.status, 200);
      assert.ok(journal.body.journal.some((e: { name: string }) => e.name === "model:0"));
      assert.ok(!journal.text.includes(value), "the journal answer omits the secret");
      assert.match(journal.text, /\[secret\]/);
      const run = await s.call("GET", `/v1/runs/${posted.body.runId}`);
      assert.ok(!run.text.includes(value));
      const replay = await s.stream("GET", `/v1/runs/${posted.body.runId}/stream`);
      assert.equal(replay.at(-1)?.event, "done");
      assert.ok(!JSON.stringify(replay.at(-1)?.data).includes(value));

      assert.equal((await s.call("DELETE", "/v1/secrets/openai_key")).status, 204);
      assert.equal((await s.call("DELETE", "/v1/secrets/openai_key")).status, 404);
      assert.deepEqual((await s.call("GET", "/v1/secrets")).body.secrets, []);
    });

    test("memory: add, list, search, forget", async (t) => {
      const s = await served(t, b);
      const a = await s.call("POST", "/v1/memory", { body: { content: "Ada prefers green tea" } });
      assert.equal(a.status, 201);
      assert.equal(a.body.source, "user");
      const due = await s.call("POST", "/v1/memory", {
        body: { content: "call the plumber", due: "2030-01-02T09:00:00Z" },
      });
      assert.equal(due.body.dueAt, Date.parse("2030-01-02T09:00:00Z"));
      const badDue = await s.call("POST", "/v1/memory", { body: { content: "x", due: "tomorrow" } });
      assert.equal(badDue.status, 400);
      assert.match(badDue.body.error.message, /due/);
      assert.equal((await s.call("POST", "/v1/memory", { body: { content: "" } })).status, 400);
      assert.deepEqual(
        (await s.call("GET", "/v1/memory")).body.memories.map((m: { content: string }) => m.content),
        ["call the plumber", "Ada prefers green tea"],
      );
      const found = await s.call("GET", `/v1/memory?q=${encodeURIComponent("tea")}`);
      assert.deepEqual(
        found.body.memories.map((m: { id: string }) => m.id),
        [a.body.id],
      );
      assert.equal((await s.call("DELETE", `/v1/memory/${a.body.id}`)).status, 204);
      assert.equal((await s.call("DELETE", `/v1/memory/${a.body.id}`)).status, 404);
      assert.deepEqual((await s.call("GET", "/v1/memory?q=tea")).body.memories, []);
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      assert.equal((await s.call("DELETE", `/v1/memory/${due.body.id}`, { token: other.body.apiKey })).status, 404);
      assert.deepEqual((await s.call("GET", "/v1/memory", { token: other.body.apiKey })).body.memories, []);
    });

    test("schedules: recurring and one-off jobs are created, listed with their next fire times, and deleted", async (t) => {
      const s = await served(t, b, { tenantSettings: { timezone: "Europe/Paris" } });
      const cron = await s.call("POST", "/v1/schedules", { body: { prompt: "morning brief", cron: "0 9 * * *" } });
      assert.equal(cron.status, 201);
      assert.equal(cron.body.kind, "recurring");
      assert.equal(cron.body.timezone, "Europe/Paris", "the tenant's zone by default");
      assert.ok(cron.body.next.length > 0 && cron.body.next[0] > Date.now());
      const at = new Date(Date.now() + 3 * 24 * 3600_000).toISOString();
      const once = await s.call("POST", "/v1/schedules", { body: { prompt: "renew passport", at } });
      assert.equal(once.status, 201);
      assert.equal(once.body.at, Date.parse(at));

      const bad: [unknown, RegExp][] = [
        [{ prompt: "x", cron: "0 9 * * *", at }, /either "cron".*or "at"/],
        [{ prompt: "x" }, /either "cron"/],
        [{ prompt: "x", cron: "not a cron" }, /cron|schedule/i],
        [{ prompt: "x", cron: "0 9 * * *", timezone: "Mars/Olympus" }, /Mars\/Olympus|time ?zone/i],
        [{ prompt: "x", at: "2020-01-01T00:00:00Z" }, /in the past/],
        [{ prompt: "x", at: "next week" }, /at: /],
        [{ prompt: "x", at, sessionId: "ses_nope" }, /session ses_nope not found/],
      ];
      for (const [body, reason] of bad) {
        const r = await s.call("POST", "/v1/schedules", { body });
        assert.equal(r.status, body && (body as { sessionId?: string }).sessionId ? 404 : 400, JSON.stringify(body));
        assert.match(r.body.error.message, reason, JSON.stringify(body));
      }

      const list = await s.call("GET", "/v1/schedules");
      assert.deepEqual(
        list.body.schedules.map((x: { id: string; kind: string }) => [x.id, x.kind]),
        [
          [cron.body.id, "recurring"],
          [once.body.id, "reminder"],
        ],
      );
      const rec = list.body.schedules[0];
      assert.equal(rec.cron, "0 9 * * *");
      assert.ok(rec.next.length >= 1 && new Date(rec.next[0]).getUTCMinutes() === 0);
      assert.deepEqual(list.body.schedules[1].next, [Date.parse(at)]);

      assert.equal((await s.call("DELETE", `/v1/schedules/${cron.body.id}`)).status, 204);
      await assert.rejects(s.app.kernel.schedules.get(`job:${cron.body.id}`), "the kernel schedule is gone");
      assert.equal((await s.call("DELETE", `/v1/schedules/${cron.body.id}`)).status, 404);
      assert.deepEqual(
        (await s.call("GET", "/v1/schedules")).body.schedules.map((x: { id: string }) => x.id),
        [once.body.id],
      );
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      assert.equal((await s.call("DELETE", `/v1/schedules/${once.body.id}`, { token: other.body.apiKey })).status, 404);
      assert.equal((await s.call("DELETE", `/v1/schedules/${once.body.id}`)).status, 204);
    });

    test("runs: list by status, cancel one that waits, retry one that failed", async (t) => {
      const s = await served(t, b);
      const done = await s.call("POST", "/v1/messages", { body: { text: "first", conversation: "a" } });
      await s.app.kernel.result(done.body.runId);

      // A turn waiting for an approval is cancelled.
      await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } });
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "z" } }] });
      const waiting = await s.call("POST", "/v1/messages", { body: { text: "remember z", conversation: "b" } });
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${waiting.body.runId}`)).body.status === "suspended",
        "the run to wait",
      );
      const suspended = await s.call("GET", "/v1/runs?status=suspended");
      assert.deepEqual(
        suspended.body.runs.map((r: { id: string }) => r.id),
        [waiting.body.runId],
      );
      const cancelled = await s.call("POST", `/v1/runs/${waiting.body.runId}/cancel`);
      assert.equal(cancelled.status, 200);
      assert.deepEqual(cancelled.body.cancelled, [waiting.body.runId]);
      assert.equal((await s.call("GET", `/v1/runs/${waiting.body.runId}`)).body.status, "cancelled");
      const twice = await s.call("POST", `/v1/runs/${waiting.body.runId}/cancel`);
      assert.equal(twice.status, 409);
      assert.equal(twice.body.error.code, "run_finished");

      // A turn whose delivery fails for good fails; once the channel works, a retry finishes it.
      let broken = true;
      s.app.channels.register({
        channel: "flaky",
        async deliver() {
          if (broken) throw new FatalError("the flaky channel is down");
        },
      });
      const refused = await s.call("POST", "/v1/messages", { body: { text: "hi", channel: "flaky" } });
      assert.equal(refused.status, 400, "a channel with an adapter is not the API's to post into");
      const r = await s.app.inbox.receive({
        tenantId: s.tenantId,
        channel: "flaky",
        conversation: "c",
        text: "hello flaky",
      });
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${r.runId}`)).body.status === "failed",
        "the run to fail",
      );
      const failed = await s.call("GET", "/v1/runs?status=failed");
      assert.deepEqual(
        failed.body.runs.map((x: { id: string }) => x.id),
        [r.runId],
      );
      assert.match(failed.body.runs[0].error.message, /flaky channel is down/);
      const retryDone = await s.call("POST", `/v1/runs/${done.body.runId}/retry`);
      assert.equal(retryDone.status, 409, "only failed runs can be retried");
      assert.match(retryDone.body.error.message, /only failed runs/);
      broken = false;
      const retried = await s.call("POST", `/v1/runs/${r.runId}/retry`);
      assert.equal(retried.status, 202);
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${r.runId}`)).body.status === "completed",
        "the retried run to complete",
      );
      const all = await s.call("GET", "/v1/runs?limit=10");
      assert.equal(all.body.runs.length, 3);
      const two = await s.call("GET", "/v1/runs?status=completed,cancelled");
      assert.equal(two.body.runs.length, 3);
      const page = await s.call("GET", "/v1/runs?limit=1");
      assert.equal(page.body.runs.length, 1);
    });
  });
}
