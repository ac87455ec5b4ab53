import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock } from "@agentd/kernel";
import { verify } from "../../src/webhooks/sign.ts";
import { ADMIN, served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { receiver } from "./receiver.ts";

const START = Date.UTC(2026, 11, 7, 9, 0);

async function rig(
  t: { after(fn: () => unknown): void },
  b: (typeof BACKENDS)[number],
  opts: { noModel?: boolean } = {},
) {
  const rx = await receiver(t);
  const clock = new FakeClock(START);
  const s = await served(t, b, { clock, config: { net: { allowPrivate: false, allowHosts: [rx.host] } }, ...opts });
  return { s, rx, clock };
}

const deliveriesOf = async (s: Awaited<ReturnType<typeof served>>, hookId: string) =>
  (await s.call("GET", `/v1/webhooks/${hookId}/deliveries`)).body.deliveries as any[];

/**
 * Waits until the delivery's attempt `n` is recorded and its run waits for the next one on the
 * kernel's clock (advancing the clock before that would set the retry's time after the advance).
 */
async function retryWaits(s: Awaited<ReturnType<typeof served>>, clock: FakeClock, hookId: string, n: number) {
  await waitFor(async () => {
    const d = (await deliveriesOf(s, hookId))[0];
    if (d?.attempts !== n) return false;
    const run = (await s.app.kernel.listRuns({ namespace: s.tenantId, workflow: "webhook.deliver" })).find(
      (r) => r.key === d.id,
    );
    return run?.status === "suspended" && run.wakeAt !== null && run.wakeAt > clock.now();
  }, `attempt ${n} recorded and the next one due`);
}

for (const b of BACKENDS) {
  describe(`outgoing webhooks (${b.name})`, () => {
    test("turn.finished and approval.needed are posted signed; a failing receiver is retried with backoff on the kernel's clock, with the same webhook-id; each event is recorded once", async (t) => {
      const { s, rx, clock } = await rig(t, b);
      const added = await s.call("POST", "/v1/webhooks", { body: { url: rx.url } });
      assert.equal(added.status, 201);
      const secret = added.body.secret as string;
      assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      const hook = added.body.webhook;
      assert.deepEqual(hook.events, ["turn.finished", "approval.needed", "run.failed"]);
      const listed = await s.call("GET", "/v1/webhooks");
      assert.deepEqual(listed.body.webhooks, [hook]);
      assert.ok(!listed.text.includes(secret), "the secret is shown once, never listed");

      rx.statuses.push(500, 503);
      const posted = await s.call("POST", "/v1/messages", { body: { text: "Hello" } });
      await waitFor(() => rx.got.length === 1, "the first attempt");
      await retryWaits(s, clock, hook.id, 1);
      await clock.advance(10_000);
      await waitFor(() => rx.got.length === 2, "the second attempt, 10 s later");
      await retryWaits(s, clock, hook.id, 2);
      await clock.advance(29_000);
      assert.equal(rx.got.length, 2, "not before its backoff");
      await clock.advance(1_000);
      await waitFor(() => rx.got.length === 3, "the third attempt, 30 s after the second");
      const [d] = await waitFor(async () => {
        const list = await deliveriesOf(s, hook.id);
        return list[0]?.status === "delivered" ? list : null;
      }, "delivered");
      assert.deepEqual([d.event, d.attempts, d.lastStatus, d.lastError], ["turn.finished", 3, 200, null]);

      const ids = new Set(rx.got.map((r) => r.headers["webhook-id"]));
      assert.deepEqual([...ids], [d.id], "every attempt carries the delivery's id");
      for (const r of rx.got) {
        const ts = Number(r.headers["webhook-timestamp"]);
        const headers = { id: d.id, timestamp: String(ts), signature: String(r.headers["webhook-signature"]) };
        assert.ok(verify(secret, headers, r.body, ts), "signed with the tenant's secret");
        assert.ok(!verify(secret, headers, `${r.body} `, ts), "a changed body fails");
        assert.ok(!verify(secret, headers, r.body, ts + 301), "an old request fails");
      }
      assert.deepEqual(
        rx.got.map((r) => Number(r.headers["webhook-timestamp"]) - START / 1000),
        [0, 10, 40],
        "each attempt is signed at its own time",
      );
      const event = JSON.parse(rx.got[0]!.body);
      assert.deepEqual(
        [event.id, event.type, event.tenantId, event.data.text, event.data.runId, event.data.sessionId],
        [d.id, "turn.finished", s.tenantId, "ok: Hello", posted.body.runId, posted.body.sessionId],
      );
      // The same event again (a replayed step) records and sends nothing new.
      assert.equal(await s.app.webhooks.emit(s.tenantId, "turn.finished", `reply:${posted.body.runId}`, {}), 1);
      assert.equal((await deliveriesOf(s, hook.id)).length, 1);

      // A tool call waiting for a person: approval.needed, with how to decide it.
      assert.equal((await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } })).status, 200);
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "teal sky" } }] }, { text: "Saved." });
      await s.call("POST", "/v1/messages", { body: { text: "remember" } });
      await waitFor(() => rx.got.length === 4, "approval.needed");
      const asked = JSON.parse(rx.got[3]!.body);
      const pending = (await s.call("GET", "/v1/approvals")).body.approvals[0];
      assert.deepEqual(
        [asked.type, asked.data.approvalId, asked.data.code, asked.data.tool],
        ["approval.needed", pending.id, pending.code, "remember"],
      );
      assert.match(asked.data.decide, new RegExp(`POST /v1/approvals/${pending.id}`));
      await s.call("POST", `/v1/approvals/${pending.id}`, { body: { decision: "once" } });
      await waitFor(() => rx.got.length === 5, "turn.finished after the decision");
      assert.equal(JSON.parse(rx.got[4]!.body).data.text, "Saved.");
    });

    test("run.failed for a turn that failed, from the every-minute sweep; a receiver that never answers 2xx ends failed after its last attempt", async (t) => {
      const { s, rx, clock } = await rig(t, b, { noModel: true });
      const hook = (await s.call("POST", "/v1/webhooks", { body: { url: rx.url, events: ["run.failed"] } })).body
        .webhook;
      assert.equal((await s.app.kernel.schedules.list({ namespace: s.tenantId })).length, 1, "the sweep is scheduled");
      rx.statuses.push(...Array(20).fill(500));
      const posted = await s.call("POST", "/v1/messages", { body: { text: "anyone?" } });
      await waitFor(async () => (await s.app.kernel.getRun(posted.body.runId))?.status === "failed", "the turn failed");
      await clock.advance(60_000);
      await waitFor(() => rx.got.length === 1, "run.failed posted");
      const event = JSON.parse(rx.got[0]!.body);
      assert.deepEqual(
        [event.type, event.data.runId, event.data.workflow, event.data.sessionId],
        ["run.failed", posted.body.runId, "agent.turn", posted.body.sessionId],
      );
      assert.match(event.data.error, /model/);
      // The backoff between attempts (10 s, then three times longer each time, at most an hour).
      const delays = [10, 30, 90, 270, 810, 2430, 3600];
      for (const [n, delay] of delays.entries()) {
        await retryWaits(s, clock, hook.id, n + 1);
        await clock.advance(delay * 1000);
        await waitFor(() => rx.got.length === n + 2, `attempt ${n + 2}, ${delay} s later`);
      }
      const [d] = await waitFor(async () => {
        const list = await deliveriesOf(s, hook.id);
        return list[0]?.status === "failed" ? list : null;
      }, "the delivery failed");
      assert.deepEqual([d.attempts, d.lastStatus], [8, 500]);
      assert.match(d.lastError, /answered 500/);
      // Later sweeps send that failure no more.
      await clock.advance(60_000);
      assert.equal((await deliveriesOf(s, hook.id)).length, 1);

      assert.equal((await s.call("DELETE", `/v1/webhooks/${hook.id}`)).status, 204);
      assert.equal((await s.app.kernel.schedules.list({ namespace: s.tenantId })).length, 0, "the sweep is gone");
      assert.equal((await s.call("DELETE", `/v1/webhooks/${hook.id}`)).status, 404);
    });

    test("bad webhooks are refused with the reason; another tenant's are not found", async (t) => {
      const { s, rx } = await rig(t, b);
      const privateUrl = await s.call("POST", "/v1/webhooks", { body: { url: "http://10.1.2.3/hook" } });
      assert.equal(privateUrl.status, 400);
      assert.match(privateUrl.body.error.message, /cannot be used/);
      const badEvent = await s.call("POST", "/v1/webhooks", { body: { url: rx.url, events: ["turn.started"] } });
      assert.equal(badEvent.status, 400);
      assert.match(badEvent.body.error.message, /events/);
      const hook = (await s.call("POST", "/v1/webhooks", { body: { url: rx.url } })).body.webhook;
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      const key = other.body.apiKey as string;
      assert.deepEqual((await s.call("GET", "/v1/webhooks", { token: key })).body.webhooks, []);
      assert.equal((await s.call("GET", `/v1/webhooks/${hook.id}/deliveries`, { token: key })).status, 404);
      assert.equal((await s.call("DELETE", `/v1/webhooks/${hook.id}`, { token: key })).status, 404);
    });
  });
}
