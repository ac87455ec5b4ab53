/**
 * OAuth connections against a real OpenID provider (oidc-provider) on 127.0.0.1: authorization code
 * with PKCE and state, the tokens in the vault, refresh when due with rotation, revoked consent.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AgentdError } from "../../src/errors.ts";
import { tokenNames } from "../../src/connections/store.ts";
import { MAX_SECRETS } from "../../src/vault/vault.ts";
import { BACKENDS } from "../support/backends.ts";
import { connectAs, REDIRECT, rig } from "./rig.ts";

for (const b of BACKENDS)
  describe(`OAuth connections (${b.name})`, () => {
    test("a person connects through the link: PKCE and state checked, tokens sealed, the run woken once", async (t) => {
      const r = await rig(t, b);
      const c = r.connections();
      const { url } = await c.begin(r.scope, {
        id: "oap_1",
        connection: "github",
        app: "github",
        runId: "run-1",
        sessionId: null,
      });
      const link = new URL(url);
      assert.equal(link.searchParams.get("code_challenge_method"), "S256");
      assert.equal(link.searchParams.get("redirect_uri"), REDIRECT);
      assert.equal(link.searchParams.get("resource"), `${r.server.apiUrl}/`);
      // The same authorization again (a step replayed after a crash) gives the same link.
      assert.equal(
        (await c.begin(r.scope, { id: "oap_1", connection: "github", app: "github", runId: "run-1", sessionId: null }))
          .url,
        url,
      );

      const back = await r.server.authorize(url, { account: "alice" });
      // A forged state names nothing.
      const forged = new URL(back);
      forged.searchParams.set("state", "forged");
      await assert.rejects(c.complete(forged), (e) => AgentdError.is(e, "not_found"));

      const done = await c.complete(back);
      assert.equal(done.ok, true);
      assert.deepEqual(r.events, [{ runId: "run-1", name: "oauth:oap_1", payload: { ok: true }, eventId: "oap_1" }]);
      const [conn] = await c.list(r.scope);
      assert.equal(conn?.name, "github");
      assert.equal(conn?.account, "alice");
      assert.equal(conn?.status, "active");
      // The link opened again: connected already, the run woken again with the same event id (delivered once by the kernel).
      assert.equal((await c.complete(back)).ok, true);
      assert.equal(r.events.at(-1)?.eventId, "oap_1");

      const { token, hosts } = await c.bearer(r.scope, "github");
      assert.deepEqual(hosts, [new URL(r.server.apiUrl).host]);
      assert.equal(await r.vault.get(r.scope, tokenNames("github").access), token);
      assert.deepEqual(await c.test(r.scope, "github"), {
        ok: true,
        detail: `${new URL(r.server.apiUrl).host} answered 200`,
      });
      // The verifier is gone with the authorization: nothing of it is left to replay.
      assert.equal(await r.vault.get(r.scope, "sys.oauthv.oap_1"), null);
    });

    test("a callback naming another issuer (a mix-up) is refused before the code is exchanged, and the run hears it", async (t) => {
      const r = await rig(t, b);
      const c = r.connections();
      const { url } = await c.begin(r.scope, {
        id: "oap_mix",
        connection: "github",
        app: "github",
        runId: "run-1",
        sessionId: null,
      });
      const back = await r.server.authorize(url, { account: "alice" });
      assert.equal(back.searchParams.get("iss"), r.server.issuer, "the provider names itself (RFC 9207)");
      const mixed = new URL(back);
      mixed.searchParams.set("iss", "http://127.0.0.1:9/attacker");
      const done = await c.complete(mixed);
      assert.equal(done.ok, false);
      assert.match(done.ok ? "" : done.message, /"iss" \(issuer\)/, done.ok ? "" : done.message);
      assert.equal(r.server.grants.authorization_code, 0, "the code was never sent to the token endpoint");
      assert.deepEqual(await c.list(r.scope), []);
      assert.deepEqual(
        r.events.map((e) => [e.runId, (e.payload as { ok: boolean }).ok]),
        [["run-1", false]],
        "the run hears it",
      );
      // The link is spent: the genuine redirect after it is refused too, and nothing was stored.
      await assert.rejects(c.complete(back), (e) => AgentdError.is(e, "conflict"));
      assert.equal(r.server.grants.authorization_code, 0);
    });

    test("a code without its verifier is refused by the provider (PKCE), and the run hears it", async (t) => {
      const r = await rig(t, b);
      const c = r.connections();
      const { url } = await c.begin(r.scope, {
        id: "oap_2",
        connection: "github",
        app: "github",
        runId: "run-2",
        sessionId: null,
      });
      const back = await r.server.authorize(url);
      // Another verifier sealed under this authorization: the provider's PKCE check must refuse the code.
      await r.vault.put(
        r.scope,
        "sys.oauthv.oap_2",
        JSON.stringify({ state: back.searchParams.get("state"), verifier: "x".repeat(64) }),
      );
      const res = await c.complete(back);
      assert.equal(res.ok, false);
      assert.match(res.message, /invalid_grant/);
      assert.deepEqual(await c.list(r.scope), []);
      assert.deepEqual(
        r.events.map((e) => (e.payload as { ok: boolean }).ok),
        [false],
      );
    });

    test("a person who refuses consent: no connection, the run told", async (t) => {
      const r = await rig(t, b);
      const c = r.connections();
      const { url } = await c.begin(r.scope, {
        id: "oap_3",
        connection: "github",
        app: "github",
        runId: "run-3",
        sessionId: null,
      });
      const res = await c.complete(await r.server.authorize(url, { deny: true }));
      assert.equal(res.ok, false);
      assert.match(res.message, /access_denied/);
      assert.deepEqual(r.events[0]?.payload, { ok: false, error: "access_denied: End-User aborted interaction" });
    });

    test("an expired token is refreshed, and one about to expire; the rotated refresh token is stored with it", async (t) => {
      const r = await rig(t, b, { accessTtlSeconds: 600 });
      const c = r.connections();
      await connectAs(r, c);
      const names = tokenNames("github");
      const first = await c.bearer(r.scope, "github");
      const refresh1 = await r.vault.get(r.scope, names.refresh);
      assert.ok(refresh1);
      r.clock.now += 601_000;
      const second = await c.bearer(r.scope, "github");
      assert.notEqual(second.token, first.token);
      assert.equal(r.server.grants.refresh_token, 1);
      const refresh2 = await r.vault.get(r.scope, names.refresh);
      assert.notEqual(refresh2, refresh1, "the rotated refresh token replaced the spent one");
      assert.equal((await c.test(r.scope, "github")).ok, true);
      // Within its life the token is used as is: no refresh.
      r.clock.now += 60_000;
      assert.equal((await c.bearer(r.scope, "github")).token, second.token);
      assert.equal(r.server.grants.refresh_token, 1);
      // Before it expires: with 40 s of its life left, a call gets a fresh token rather than one that may die on the way.
      r.clock.now += 500_000;
      const third = await c.bearer(r.scope, "github");
      assert.notEqual(third.token, second.token);
      assert.equal(r.server.grants.refresh_token, 2);
    });

    test("hammered: concurrent refreshes in two processes spend each rotated refresh token once", async (t) => {
      const r = await rig(t, b, { accessTtlSeconds: 600 });
      const [p1, p2] = [r.connections(), r.connections()];
      await connectAs(r, p1);
      const started = Date.now();
      let rounds = 0;
      for (; rounds < 200 && Date.now() - started < 20_000; rounds++) {
        r.clock.now += 601_000;
        const tokens = await Promise.all(
          Array.from({ length: 24 }, (_, i) => (i % 2 ? p1 : p2).bearer(r.scope, "github").then((x) => x.token)),
        );
        assert.equal(new Set(tokens).size, 1, `round ${rounds}: every caller got the one new token`);
        assert.equal(r.server.grants.refresh_token, rounds + 1, `round ${rounds}: one refresh`);
      }
      assert.ok(rounds >= 20, `only ${rounds} rounds ran`);
      assert.equal((await p2.test(r.scope, "github")).ok, true, "the last rotation was persisted and works");
    });

    test("revoked consent: the refresh is refused, the connection needs reconnecting, a new link fixes it", async (t) => {
      const r = await rig(t, b, { accessTtlSeconds: 600 });
      const c = r.connections();
      await connectAs(r, c);
      await r.server.revokeConsent("alice");
      r.clock.now += 601_000;
      await assert.rejects(c.bearer(r.scope, "github"), (e) => AgentdError.is(e, "needs_reconnect"));
      assert.equal((await c.list(r.scope))[0]?.status, "needs_reconnect");
      assert.deepEqual(await c.prepare(r.scope, "github"), {
        kind: "connect",
        app: "github",
        reason: "needs_reconnect",
      });
      assert.equal((await c.test(r.scope, "github")).ok, false);
      await connectAs(r, c, "alice", "oap_again");
      assert.deepEqual(await c.prepare(r.scope, "github"), { kind: "ready" });
      assert.equal((await c.test(r.scope, "github")).ok, true);
    });

    test("removed: tokens revoked at the provider and forgotten here", async (t) => {
      const r = await rig(t, b);
      const c = r.connections();
      await connectAs(r, c);
      const { token } = await c.bearer(r.scope, "github");
      assert.deepEqual(await c.remove(r.scope, "github"), { revoked: true });
      assert.deepEqual(await c.list(r.scope), []);
      assert.equal(await r.vault.get(r.scope, tokenNames("github").access), null);
      assert.equal(await r.server.provider.AccessToken.find(token), undefined);
      await assert.rejects(c.bearer(r.scope, "github"), (e) => AgentdError.is(e, "connection_not_found"));
    });

    test("a vault at its secrets limit still connects: connection tokens are not counted against it", async (t) => {
      const r = await rig(t, b);
      const c = r.connections();
      // The verifier of the link is counted (one of the limit), the tokens are not.
      const fill = Object.fromEntries(Array.from({ length: MAX_SECRETS - 1 }, (_, i) => [`KEY_${i}`, `v${i}`]));
      await r.vault.putMany(r.scope, fill);
      await connectAs(r, c);
      assert.equal((await c.list(r.scope))[0]?.status, "active");
      assert.ok(await r.vault.get(r.scope, tokenNames("github").refresh));
      // A refresh rewrites them at the limit too.
      r.clock.now += 2 * 3600_000;
      assert.deepEqual(await c.prepare(r.scope, "github"), { kind: "ready" });
      // The tenant's own secrets are still bounded: the link's verifier is gone, one more fits, then none.
      await r.vault.put(r.scope, "ONE_MORE", "x");
      await assert.rejects(r.vault.put(r.scope, "TWO_MORE", "x"), /holds 1000 secrets/);
    });
  });
