// The API routes the dashboard added: runs paged by a keyset cursor, recurring jobs paused and
// resumed with their ticks, a tenant's API keys listed, the live workers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock } from "@agentd/kernel";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";

for (const b of BACKENDS) {
  describe(`the dashboard's API routes (${b.name})`, () => {
    test("runs: the cursor pages through runs created in the same millisecond, none skipped or repeated", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 11, 6, 12, 0));
      const s = await served(t, b, { clock, worker: false });
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await s.app.kernel.start("agent.reminder", { i }, { namespace: s.tenantId, key: `k${i}` });
        ids.push(r.id);
        if (i === 3) await clock.advance(1);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const page = await s.call("GET", `/v1/runs?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
        assert.equal(page.status, 200, page.text);
        seen.push(...page.body.runs.map((r: { id: string }) => r.id));
        cursor = page.body.next;
        if (!cursor) break;
      }
      assert.equal(seen.length, 7, "every run once");
      assert.deepEqual(new Set(seen), new Set(ids));
      // `before` alone (the older form) is kept for clients that use it.
      const older = await s.call("GET", `/v1/runs?before=${Date.UTC(2026, 11, 6, 12, 0) + 1}`);
      assert.equal(older.body.runs.length, 4);
      const byKey = await s.call("GET", "/v1/runs?key=k5");
      assert.deepEqual(
        byKey.body.runs.map((r: { id: string }) => r.id),
        [ids[5]],
      );
      const since = await s.call("GET", `/v1/runs?since=${Date.UTC(2026, 11, 6, 12, 0) + 1}`);
      assert.equal(since.body.runs.length, 3);
      const bad = await s.call("GET", "/v1/runs?cursor=yesterday");
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /cursor/);
    });

    test("schedules: pause and resume a recurring job; its ticks say why they were skipped; another tenant's is a 404", async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 11, 6, 12, 0));
      const s = await served(t, b, { clock });
      const job = await s.call("POST", "/v1/schedules", { body: { prompt: "tick", cron: "0 * * * *" } });
      assert.equal(job.status, 201, job.text);
      const paused = await s.call("POST", `/v1/schedules/${job.body.id}/pause`);
      assert.equal(paused.status, 200);
      let list = await s.call("GET", "/v1/schedules");
      assert.equal(list.body.schedules[0].paused, true);
      assert.deepEqual(list.body.schedules[0].next, []);
      await clock.advance(2 * 3_600_000);
      assert.equal((await s.call("POST", `/v1/schedules/${job.body.id}/resume`)).status, 200);
      list = await s.call("GET", "/v1/schedules");
      assert.equal(list.body.schedules[0].paused, false);
      const ticks = await s.call("GET", `/v1/schedules/${job.body.id}/ticks`);
      assert.equal(ticks.status, 200);
      assert.ok(
        ticks.body.ticks.some(
          (x: { status: string; reason: string }) => x.status === "skipped" && /paused/.test(x.reason),
        ),
        JSON.stringify(ticks.body),
      );
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      for (const path of ["pause", "resume"])
        assert.equal(
          (await s.call("POST", `/v1/schedules/${job.body.id}/${path}`, { token: other.body.apiKey })).status,
          404,
        );
      assert.equal(
        (await s.call("GET", `/v1/schedules/${job.body.id}/ticks`, { token: other.body.apiKey })).status,
        404,
      );
    });

    test("files: uploaded as a blob, named by a message; another tenant's file, a bad type or an empty body refused", async (t) => {
      const s = await served(t, b, { config: { maxMediaBytes: 2048 } });
      const up = await s.call("POST", "/v1/blobs?name=notes.txt", {
        raw: "hello file",
        headers: { "content-type": "text/plain" },
      });
      assert.equal(up.status, 201, up.text);
      assert.equal(up.body.mime, "text/plain");
      assert.equal(up.body.name, "notes.txt");
      const sent = await s.call("POST", "/v1/messages", { body: { text: "read this", attachments: [up.body.id] } });
      assert.equal(sent.status, 202, sent.text);
      const msgs = await s.call("GET", `/v1/sessions/${sent.body.sessionId}/messages`);
      assert.equal(msgs.body.messages[0].attachments[0].id, up.body.id);

      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      const theirs = await s.call("POST", "/v1/messages", {
        token: other.body.apiKey,
        body: { text: "steal", attachments: [up.body.id] },
      });
      assert.equal(theirs.status, 404, "another tenant's file is unknown to this one");
      const before = (await s.call("GET", "/v1/runs")).body.runs.length;
      assert.equal(
        (await s.call("POST", "/v1/messages", { body: { text: "x", attachments: ["blob_nope"] } })).status,
        404,
      );
      assert.equal((await s.call("GET", "/v1/runs")).body.runs.length, before, "no turn for a refused message");
      const badType = await s.call("POST", "/v1/blobs", { raw: "x", headers: { "content-type": "not a type" } });
      assert.equal(badType.status, 400);
      const empty = await s.call("POST", "/v1/blobs", { raw: "", headers: { "content-type": "text/plain" } });
      assert.equal(empty.status, 400);
      const big = await s.call("POST", "/v1/blobs", {
        raw: "x".repeat(4096),
        headers: { "content-type": "text/plain" },
      });
      assert.equal(big.status, 413);
      assert.match(big.body.error.message, /AGENTD_MAX_MEDIA_BYTES/);
    });

    test("tenant keys are listed by their first characters only; workers are the admin's", async (t) => {
      const s = await served(t, b);
      const keys = await s.call("GET", `/v1/tenants/${s.tenantId}/keys`, { token: ADMIN });
      assert.equal(keys.status, 200);
      assert.equal(keys.body.keys.length, 1);
      assert.equal(keys.body.keys[0].prefix, s.key.slice(0, 7));
      assert.ok(!keys.text.includes(s.key), "never the key itself");
      assert.equal((await s.call("GET", `/v1/tenants/${s.tenantId}/keys`)).status, 403);
      const workers = await s.call("GET", "/v1/workers", { token: ADMIN });
      assert.equal(workers.status, 200);
      assert.equal(workers.body.workers.length, 1);
      assert.ok(Object.keys(workers.body.workers[0].workflows).includes("agent.turn"));
      assert.equal((await s.call("GET", "/v1/workers")).status, 403);
    });
  });
}
