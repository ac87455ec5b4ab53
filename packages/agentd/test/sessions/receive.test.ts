import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Agentd, createAgentd } from "../../src/app.ts";
import { addUsage } from "../../src/agent/usage.ts";
import { openAndAppend } from "../../src/sessions/receive.ts";
import { sessions } from "../../src/sessions/store.ts";
import { turnView } from "../../src/sessions/turn-view.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS, type Backend, type Place } from "../support/backends.ts";
import { type ModelServer, startModelServer } from "../support/model-server.ts";

const user = (content: string, sourceKey: string | null = null) => ({ role: "user" as const, content, sourceKey });

/** An agentd on `place`: with a worker (which recovers at start), or without (a process that only receives). */
async function agentdOn(t: { after(fn: () => unknown): void }, place: Place, model: ModelServer, worker: boolean) {
  const app = await createAgentd({
    env: {},
    config: { ...place, model: { id: "stand-in", baseURL: model.url, apiKey: "k" } },
    ...(worker ? {} : { worker: false as const }),
    logger: () => {},
  });
  t.after(() => app.close());
  return app;
}

async function messageOf(app: Agentd, tenantId: string, id: string) {
  return sessions.message(app.tenants.scope(tenantId), id);
}

for (const b of BACKENDS) {
  describe(`receiving a message (${b.name})`, () => {
    test("the session is made with the first message, touched by the next, not by a redelivery", async (t) => {
      const { app, tenantId } = await testAgentd(t, b, { worker: false });
      const scope = app.tenants.scope(tenantId);
      const at = { channel: "http", conversation: "c" };
      const first = await openAndAppend(scope, at, user("one", "k1"), 1_000);
      assert.equal(first.duplicate, false);
      assert.equal(first.session.createdAt, 1_000);
      assert.equal(first.message.sessionId, first.session.id);
      const second = await openAndAppend(scope, at, user("two", "k2"), 2_000);
      assert.equal(second.session.id, first.session.id);
      assert.equal((await sessions.get(scope, first.session.id))?.updatedAt, 2_000);
      const again = await openAndAppend(scope, at, user("two again", "k2"), 3_000);
      assert.equal(again.duplicate, true);
      assert.equal(again.message.id, second.message.id);
      assert.equal(again.message.content, "two");
      assert.equal((await sessions.get(scope, first.session.id))?.updatedAt, 2_000, "a redelivery touches nothing");
      const other = await openAndAppend(scope, { channel: "http", conversation: "d" }, user("elsewhere"), 4_000);
      assert.notEqual(other.session.id, first.session.id);
      assert.deepEqual(
        (await sessions.history(scope, first.session.id)).map((m) => m.content),
        ["one", "two"],
      );
      // Another tenant's conversation of the same name is its own session.
      const stranger = await app.tenants.create("other");
      const theirs = await openAndAppend(app.tenants.scope(stranger.id), at, user("hi"), 5_000);
      assert.notEqual(theirs.session.id, first.session.id);
      assert.equal((await sessions.history(scope, first.session.id)).length, 2);
    });

    test("first messages of a new conversation at once: one session holds them all", async (t) => {
      const { app, tenantId } = await testAgentd(t, b, { worker: false });
      const scope = app.tenants.scope(tenantId);
      const at = { channel: "http", conversation: "race" };
      const got = await Promise.all(
        Array.from({ length: 8 }, (_, i) => openAndAppend(scope, at, user(`m${i}`, `k${i}`), 1_000 + i)),
      );
      assert.equal(new Set(got.map((g) => g.session.id)).size, 1);
      assert.ok(got.every((g) => !g.duplicate));
      assert.equal((await sessions.history(scope, got[0]!.session.id)).length, 8);
    });

    test("a turn's view of its session in one read is what the separate reads say", async (t) => {
      const { app, tenantId } = await testAgentd(t, b, { worker: false });
      const scope = app.tenants.scope(tenantId);
      const now = Date.UTC(2026, 11, 7, 12);
      const s = await sessions.open(scope, "http", "c", now);
      const says = async (role: "user" | "assistant", content: string, runId: string | null) =>
        (await sessions.append(scope, { sessionId: s.id, role, content, sourceKey: null, runId }, now)).message;
      const asked = [];
      for (let i = 0; i < 6; i++) asked.push(await says("user", `q${i}`, `run_${i}`));
      // Answers out of order: q1 answered after q2 arrived; q4 and q5 unanswered.
      for (const i of [0, 2, 1, 3]) await says("assistant", `a${i}`, `run_${i}`);
      await sessions.saveSummary(scope, s.id, "earlier", asked[1]!.seq, now);
      await addUsage(scope, 123, now);
      for (const upto of [asked[1]!.seq, asked[3]!.seq, asked[5]!.seq])
        for (const window of [2, 4, 20]) {
          const view = await turnView(scope, { sessionId: s.id, upto, window, atMost: 3, now });
          const session = await sessions.require(scope, s.id);
          assert.deepEqual(view.session, session);
          assert.deepEqual(
            view.history,
            await sessions.recent(scope, s.id, window, upto),
            `upto ${upto}, window ${window}`,
          );
          assert.equal(view.answeredAfter, await sessions.answeredAfter(scope, s.id, upto));
          assert.equal(view.unsummarized, await sessions.unsummarized(scope, session, upto, 3));
          assert.equal(view.usedToday, b.name === "postgres" ? 123 : null);
        }
      await assert.rejects(turnView(scope, { sessionId: "ses_none", upto: 1, window: 2, atMost: 3, now }), /session/);
    });
  });

  describe(`recovery of messages without a turn (${b.name})`, () => {
    async function place(t: { after(fn: () => unknown): void }, backend: Backend) {
      const model = await startModelServer();
      t.after(() => model.close());
      const p = backend.place(t);
      const client = await agentdOn(t, p, model, false);
      const tenantId = (await client.tenants.create("recover")).id;
      return { model, place: p, client, tenantId };
    }

    test("persisted and never started (killed in between): the next worker's start answers it once", async (t) => {
      const { model, place: p, client, tenantId } = await place(t, b);
      const scope = client.tenants.scope(tenantId);
      const { message } = await openAndAppend(scope, { channel: "http", conversation: "c" }, user("lost?"), Date.now());
      assert.equal(message.runId, null);
      model.script({ text: "found you" });
      const worker = await agentdOn(t, p, model, true);
      await worker.start({ channels: false });
      const runId = (await messageOf(worker, tenantId, message.id))?.runId;
      assert.ok(runId, "the recovery recorded the turn's run on the message");
      assert.equal((await worker.kernel.result<{ text: string }>(runId)).text, "found you");
      assert.equal(await worker.inbox.recover(), 0, "nothing left to recover");
      assert.equal(model.calls, 1);
    });

    test("started but its run not recorded on the message (killed in between): recovery finds the same run", async (t) => {
      const { model, place: p, client, tenantId } = await place(t, b);
      model.script({ text: "once" });
      const r = await client.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "hi" });
      await client.inbox.settled();
      // As if the process died before the run's id was written: the row says no run.
      await client.db.run("UPDATE os_messages SET run_id = NULL WHERE id = ?", [r.message.id]);
      const worker = await agentdOn(t, p, model, true);
      await worker.start({ channels: false });
      assert.equal((await messageOf(worker, tenantId, r.message.id))?.runId, r.runId, "the run found by its key");
      assert.equal((await worker.kernel.result<{ text: string }>(r.runId)).text, "once");
      assert.equal((await worker.kernel.listRuns({ namespace: tenantId })).length, 1, "no second turn");
      assert.equal(model.calls, 1);
    });

    test("a received message has its run recorded, and a redelivery returns that run", async (t) => {
      const { client, tenantId } = await place(t, b);
      const m = { tenantId, channel: "http", conversation: "c", text: "hi", sourceKey: "src-1" };
      const r = await client.inbox.receive(m);
      const again = await client.inbox.receive(m);
      assert.equal(again.duplicate, true);
      assert.equal(again.runId, r.runId);
      await client.inbox.settled();
      assert.equal((await messageOf(client, tenantId, r.message.id))?.runId, r.runId);
      assert.equal((await client.kernel.listRuns({ namespace: tenantId })).length, 1);
    });
  });
}
