import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BACKENDS } from "./support/backends.ts";

import { ADMIN, served, waitFor } from "./support/api.ts";

for (const b of BACKENDS) {
  describe(`HTTP API: access, tenants and bad input (${b.name})`, () => {
    test("health needs no token; every /v1 route does; tenant keys stay out of admin routes", async (t) => {
      const s = await served(t, b);
      const health = await s.call("GET", "/health", { token: null });
      assert.equal(health.status, 200);
      assert.equal(health.body.ok, true);
      assert.equal(health.body.status, "up");

      const none = await s.call("GET", "/v1/sessions", { token: null });
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, "unauthorized");
      assert.match(none.body.error.message, /Authorization: Bearer/);
      assert.match(none.body.error.message, /POST \/v1\/tenants\/<id>\/keys/, "says how to get a key");
      const wrong = await s.call("GET", "/v1/sessions", { token: "ak_not-a-real-key" });
      assert.equal(wrong.status, 401);
      assert.ok(!wrong.text.includes("ak_not-a-real-key"), "the token is never echoed");
      assert.equal(
        (await s.call("GET", "/v1/sessions", { token: null, headers: { authorization: "Basic abc" } })).status,
        401,
      );
      assert.equal((await s.call("GET", "/v1/sessions", { token: `${ADMIN}x` })).status, 401);

      assert.equal((await s.call("GET", "/v1/sessions")).status, 200, "a tenant key reaches its tenant routes");
      const forbidden = await s.call("GET", "/v1/tenants");
      assert.equal(forbidden.status, 403);
      assert.match(forbidden.body.error.message, /admin token/);
      assert.equal((await s.call("POST", "/v1/tenants", { body: { name: "x" } })).status, 403);
      assert.equal((await s.call("GET", "/metrics")).status, 403);
      assert.equal((await s.call("GET", "/metrics", { token: null })).status, 401);

      const needsTenant = await s.call("GET", "/v1/sessions", { token: ADMIN });
      assert.equal(needsTenant.status, 400);
      assert.match(needsTenant.body.error.message, /X-Agentd-Tenant/);
      assert.equal(
        (await s.call("GET", "/v1/sessions", { token: ADMIN, headers: { "x-agentd-tenant": s.tenantId } })).status,
        200,
      );
      assert.equal(
        (await s.call("GET", "/v1/sessions", { token: ADMIN, headers: { "x-agentd-tenant": "ten_nope" } })).status,
        404,
      );
      const other = await s.app.tenants.create("other");
      assert.equal(
        (await s.call("GET", "/v1/sessions", { headers: { "x-agentd-tenant": other.id } })).status,
        403,
        "a key acts for its own tenant only",
      );
      assert.equal((await s.call("GET", "/v1/tenants", { token: ADMIN })).status, 200);
      const unknown = await s.call("GET", "/v1/nothing-here");
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, "not_found");
    });

    test("the operator creates a tenant, changes it, issues and revokes keys, pairs and binds identities, and deletes it", async (t) => {
      const s = await served(t, b);
      const admin = { token: ADMIN };
      const bad = await s.call("POST", "/v1/tenants", {
        ...admin,
        body: { name: "acme", settings: { runsPerMinit: 5 } },
      });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /runsPerMinit/);
      assert.equal((await s.call("POST", "/v1/tenants", { ...admin, body: {} })).status, 400);
      const badBeat = await s.call("POST", "/v1/tenants", {
        ...admin,
        body: { name: "acme", settings: { heartbeat: "61 * * * *" } },
      });
      assert.equal(badBeat.status, 400);
      assert.match(badBeat.body.error.message, /61 \* \* \* \*/);
      assert.deepEqual(
        (await s.call("GET", "/v1/tenants", admin)).body.tenants.map((x: { name: string }) => x.name),
        ["test"],
        "a refused tenant is not kept",
      );

      const made = await s.call("POST", "/v1/tenants", {
        ...admin,
        body: { name: "acme", settings: { runsPerMinute: 5, heartbeat: "*/30 * * * *" } },
      });
      assert.equal(made.status, 201);
      const id: string = made.body.tenant.id;
      assert.equal(made.body.tenant.settings.runsPerMinute, 5);
      assert.match(made.body.apiKey, /^ak_/);
      assert.ok(await s.app.kernel.schedules.get(`heartbeat:${id}`), "creation syncs the heartbeat");
      const acme = made.body.apiKey as string;
      assert.equal((await s.call("GET", "/v1/sessions", { token: acme })).status, 200);

      assert.ok((await s.call("GET", "/v1/tenants", admin)).body.tenants.some((x: { id: string }) => x.id === id));
      assert.equal((await s.call("GET", `/v1/tenants/${id}`, admin)).body.name, "acme");
      assert.equal((await s.call("GET", "/v1/tenants/ten_missing", admin)).status, 404);

      const patched = await s.call("PATCH", `/v1/tenants/${id}`, {
        ...admin,
        body: { settings: { heartbeat: null, maxIterations: 3 } },
      });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.settings.maxIterations, 3);
      assert.equal(patched.body.settings.runsPerMinute, 5, "other settings are kept");
      await assert.rejects(s.app.kernel.schedules.get(`heartbeat:${id}`), "the heartbeat went with the setting");
      const badPatch = await s.call("PATCH", `/v1/tenants/${id}`, {
        ...admin,
        body: { settings: { maxIterations: 0 } },
      });
      assert.equal(badPatch.status, 400);
      assert.match(badPatch.body.error.message, /maxIterations/);
      const badCron = await s.call("PATCH", `/v1/tenants/${id}`, {
        ...admin,
        body: { settings: { heartbeat: "every now and then" } },
      });
      assert.equal(badCron.status, 400);
      assert.equal(badCron.body.error.code, "invalid_schedule");
      assert.equal(
        (await s.call("GET", `/v1/tenants/${id}`, admin)).body.settings.heartbeat,
        null,
        "a refused heartbeat is not kept",
      );

      const key2 = await s.call("POST", `/v1/tenants/${id}/keys`, admin);
      assert.equal(key2.status, 201);
      assert.equal((await s.call("GET", "/v1/usage", { token: key2.body.key })).status, 200);
      assert.equal((await s.call("DELETE", `/v1/tenants/${id}/keys/${key2.body.id}`, admin)).status, 204);
      assert.equal(
        (await s.call("GET", "/v1/usage", { token: key2.body.key })).status,
        401,
        "a revoked key stops working",
      );
      assert.equal((await s.call("DELETE", `/v1/tenants/${id}/keys/${key2.body.id}`, admin)).status, 404);

      const code = await s.call("POST", `/v1/tenants/${id}/pairing-codes`, admin);
      assert.equal(code.status, 201);
      assert.match(code.body.code, /^[0-9A-Z]{8}$/);
      const paired = await s.app.inbox.fromIdentity({
        channel: "telegram",
        externalId: "42",
        conversation: "42",
        text: `/start ${code.body.code}`,
        sourceKey: "u1",
      });
      assert.equal(paired.kind, "paired");

      const bind = await s.call("POST", `/v1/tenants/${id}/identities`, {
        ...admin,
        body: { channel: "sms", externalId: "+15550001" },
      });
      assert.equal(bind.status, 201);
      const ids = await s.call("GET", `/v1/tenants/${id}/identities`, admin);
      assert.deepEqual(
        ids.body.identities.map((i: { channel: string; externalId: string }) => `${i.channel}:${i.externalId}`).sort(),
        ["sms:+15550001", "telegram:42"],
      );
      const steal = await s.call("POST", `/v1/tenants/${s.tenantId}/identities`, {
        ...admin,
        body: { channel: "sms", externalId: "+15550001" },
      });
      assert.equal(steal.status, 409);
      assert.match(steal.body.error.message, /force/);
      assert.equal(
        (await s.call("DELETE", `/v1/tenants/${id}/identities/sms/${encodeURIComponent("+15550001")}`, admin)).status,
        204,
      );
      assert.equal(
        (await s.call("DELETE", `/v1/tenants/${id}/identities/sms/${encodeURIComponent("+15550001")}`, admin)).status,
        404,
      );

      assert.equal((await s.call("DELETE", `/v1/tenants/${id}`, admin)).status, 204);
      assert.equal((await s.call("GET", `/v1/tenants/${id}`, admin)).status, 404);
      assert.equal((await s.call("GET", "/v1/sessions", { token: acme })).status, 401, "its keys went with it");
    });

    test("another tenant's session, run and approval answer 404, exactly like missing ones", async (t) => {
      const s = await served(t, b);
      await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } });
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "mine" } }] }, { text: "Saved." });
      const posted = await s.call("POST", "/v1/messages", { body: { text: "remember mine" } });
      const approval = await waitFor(
        async () => (await s.call("GET", "/v1/approvals")).body.approvals[0],
        "the approval",
      );
      const made = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "intruder" } });
      const other = made.body.apiKey as string;
      const probes: [string, string, unknown?][] = [
        ["GET", "/v1/sessions/ID"],
        ["GET", "/v1/sessions/ID/messages"],
        ["GET", "/v1/runs/ID"],
        ["GET", "/v1/runs/ID/journal"],
        ["GET", "/v1/runs/ID/stream"],
        ["POST", "/v1/runs/ID/retry"],
        ["POST", "/v1/runs/ID/cancel"],
        ["POST", "/v1/approvals/ID", { decision: "once" }],
      ];
      const ids: Record<string, string> = {
        sessions: posted.body.sessionId,
        runs: posted.body.runId,
        approvals: approval.id,
      };
      for (const [method, path, body] of probes) {
        const kind = path.split("/")[2] as string;
        const theirs = await s.call(method, path.replace("ID", ids[kind]!), {
          token: other,
          ...(body ? { body } : {}),
        });
        const missing = await s.call(method, path.replace("ID", `${ids[kind]!.slice(0, 4)}missing`), {
          token: other,
          ...(body ? { body } : {}),
        });
        assert.equal(theirs.status, 404, `${method} ${path} of another tenant`);
        assert.equal(missing.status, 404, `${method} ${path} missing`);
        assert.equal(theirs.body.error.code, missing.body.error.code);
        assert.equal(
          theirs.body.error.message.replace(ids[kind]!, "X"),
          missing.body.error.message.replace(`${ids[kind]!.slice(0, 4)}missing`, "X"),
        );
      }
      assert.deepEqual((await s.call("GET", "/v1/runs", { token: other })).body.runs, []);
      assert.deepEqual((await s.call("GET", "/v1/approvals", { token: other })).body.approvals, []);
      assert.equal(
        (await s.call("GET", "/v1/approvals")).body.approvals[0].status,
        "pending",
        "the owner's approval is untouched",
      );
      await s.call("POST", `/v1/runs/${posted.body.runId}/cancel`);
    });

    test("bad bodies are 400 with the field and the reason; nothing is stored", async (t) => {
      const s = await served(t, b);
      const cases: [string, { body?: unknown; raw?: string; headers?: Record<string, string> }, RegExp][] = [
        [
          "missing text and files",
          { body: { conversation: "c" } },
          /text: must not be blank \(send text, files, or both\)/,
        ],
        ["text a number", { body: { text: 42 } }, /text: .*expected string, received number/i],
        ["blank text", { body: { text: "   " } }, /text: must not be blank/],
        ["text too long", { body: { text: "x".repeat(32_001) } }, /text: .*32000/],
        ["unknown field", { body: { text: "hi", txt: "hi" } }, /txt/],
        ["bad channel", { body: { text: "hi", channel: "Tele gram" } }, /channel: a channel is/],
        ["an array", { body: ["hi"] }, /\(body\): .*expected object/i],
        ["bad JSON", { raw: '{"text": "hi"', headers: { "content-type": "application/json" } }, /not valid JSON/],
        ["no body", {}, /body is empty/],
      ];
      for (const [what, o, reason] of cases) {
        const r = await s.call("POST", "/v1/messages", o);
        assert.equal(r.status, 400, what);
        assert.equal(r.body.error.code, "bad_request", what);
        assert.match(r.body.error.message, reason, what);
      }
      const q = await s.call("GET", "/v1/runs?limit=zero");
      assert.equal(q.status, 400);
      assert.match(q.body.error.message, /query is not valid: limit/);
      assert.equal((await s.call("GET", "/v1/runs?status=bogus")).status, 400);
      assert.deepEqual((await s.call("GET", "/v1/sessions")).body.sessions, []);
      assert.deepEqual((await s.call("GET", "/v1/runs")).body.runs, []);
    });

    test("a body over maxBodyBytes is refused with 413 and nothing is stored", async (t) => {
      const s = await served(t, b, { config: { maxBodyBytes: 4096 } });
      const r = await s.call("POST", "/v1/messages", { body: { text: "y".repeat(10_000) } });
      assert.equal(r.status, 413);
      assert.equal(r.body.error.code, "too_large");
      assert.match(r.body.error.message, /4096 bytes/);
      const secret = await s.call("PUT", "/v1/secrets/big", { body: { value: "z".repeat(10_000) } });
      assert.equal(secret.status, 413);
      assert.deepEqual((await s.call("GET", "/v1/sessions")).body.sessions, []);
      assert.deepEqual((await s.call("GET", "/v1/runs")).body.runs, []);
      assert.deepEqual((await s.call("GET", "/v1/secrets")).body.secrets, []);
      assert.equal((await s.call("POST", "/v1/messages", { body: { text: "small" } })).status, 202);
    });

    test("messages beyond runsPerMinute are 429 with Retry-After; a retried POST is not counted", async (t) => {
      const s = await served(t, b, { tenantSettings: { runsPerMinute: 2 } });
      assert.equal((await s.call("POST", "/v1/messages", { body: { text: "one", id: "a" } })).status, 202);
      assert.equal((await s.call("POST", "/v1/messages", { body: { text: "two" } })).status, 202);
      const third = await s.call("POST", "/v1/messages", { body: { text: "three" } });
      assert.equal(third.status, 429);
      assert.equal(third.body.error.code, "rate_limited");
      assert.match(third.body.error.message, /2 messages a minute \(its runsPerMinute setting\)/);
      const after = Number(third.headers.get("retry-after"));
      assert.ok(after >= 1 && after <= 60, `Retry-After ${after}`);
      const retried = await s.call("POST", "/v1/messages", { body: { text: "one", id: "a" } });
      assert.equal(retried.status, 202);
      assert.equal(retried.body.duplicate, true);
      const sessions = (await s.call("GET", "/v1/sessions")).body.sessions;
      const msgs = (await s.call("GET", `/v1/sessions/${sessions[0].id}/messages`)).body.messages;
      assert.equal(
        msgs.filter((m: { role: string }) => m.role === "user").length,
        2,
        "the refused message was not stored",
      );
    });
  });
}
