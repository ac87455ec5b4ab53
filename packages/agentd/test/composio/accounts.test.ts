/**
 * Composio through the real @composio/core against the local stand-in of its REST API: a tenant's
 * own user (never another's), its key or the operator's, Connect Links recorded once and completed
 * only when Composio says ACTIVE, accounts listed and removed, toolkit tools found and executed at a
 * pinned version, and Composio's errors said plainly without the key.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connectEventName } from "../../src/connections/authorize.ts";
import { checkComposio } from "../../src/composio/doctor.ts";
import { ComposioService } from "../../src/composio/service.ts";
import { composioUserId } from "../../src/composio/user.ts";
import { AgentdError } from "../../src/errors.ts";
import { Tenants } from "../../src/tenancy/tenants.ts";
import { generateMasterKey, toMasterKeys } from "../../src/vault/keys.ts";
import { Vault } from "../../src/vault/vault.ts";
import { type Backend, BACKENDS } from "../support/backends.ts";
import { startComposioServer } from "../support/composio-server.ts";
import { storedText } from "../support/stored-text.ts";

const PUBLIC_URL = "http://127.0.0.1:9/agentd";
/** A tenant's own Composio key, planted: long enough that finding it in a stored byte would not be chance. */
const OWN_KEY = "ck_tenant_own_7d1e0b5a93c4f268";

async function rig(t: { after(fn: () => unknown): void }, b: Backend, versions: Record<string, string> = {}) {
  const { db, place } = await b.db(t);
  const server = await startComposioServer({ keys: ["ck_operator", OWN_KEY] });
  t.after(() => server.close());
  const clock = { now: Date.now() };
  const vault = new Vault(db, toMasterKeys([generateMasterKey()], "test"), () => clock.now);
  const tenants = new Tenants(db, () => clock.now);
  const events: { runId: string; name: string; payload: unknown; eventId: string }[] = [];
  const composio = new ComposioService({
    config: { apiKey: "ck_operator", baseURL: server.url, versions },
    db,
    vault,
    now: () => clock.now,
    scope: (id) => tenants.scope(id),
    publicUrl: PUBLIC_URL,
    linkTtlMs: 60 * 60_000,
    events: {
      sendEvent: async (runId, name, payload, o) => {
        events.push({ runId, name, payload, eventId: o.eventId });
        return { delivered: true };
      },
    },
  });
  const a = tenants.scope((await tenants.create("a")).id);
  const other = tenants.scope((await tenants.create("b")).id);
  return { db, place, server, clock, vault, tenants, events, composio, a, other };
}

/** The callback URL Composio sends the person to, as the route receives it. */
const callback = (location: string) => {
  const u = new URL(location);
  assert.equal(`${u.origin}${u.pathname}`, `${PUBLIC_URL}/composio/callback`);
  return u;
};

for (const b of BACKENDS)
  describe(`Composio accounts and tools (${b.name})`, () => {
    test("a connect link: recorded once, ACTIVE only when Composio says so, the run woken, per tenant", async (t) => {
      const r = await rig(t, b);
      assert.deepEqual(await r.composio.accounts.prepare(r.a, "github"), {
        kind: "connect",
        app: "github",
        reason: "missing",
      });
      const p = { id: "oap_one", toolkit: "github", runId: "run-1", sessionId: null };
      const { url } = await r.composio.accounts.begin(r.a, p);
      assert.ok(url.startsWith(`${r.server.url}/connect/`), url);
      // The step replayed after a crash: the same link, and Composio is not asked for another.
      assert.equal((await r.composio.accounts.begin(r.a, p)).url, url);
      assert.equal(r.server.requests.filter((q) => q.path.endsWith("/connected_accounts/link")).length, 1);

      // A callback with a forged status is not believed: Composio does not show the account ACTIVE.
      const location = await r.server.complete(url);
      const forged = callback(location);
      r.server.accounts.get(forged.searchParams.get("connected_account_id") as string)!.status = "INITIATED";
      await assert.rejects(r.composio.accounts.complete(forged), (e) => AgentdError.is(e, "conflict"));
      assert.equal(r.events.length, 0, "no wake before the account is ACTIVE");
      r.server.accounts.get(forged.searchParams.get("connected_account_id") as string)!.status = "ACTIVE";

      const done = await r.composio.accounts.complete(callback(location));
      assert.equal(done.ok, true);
      assert.match(done.message, /github is connected/);
      assert.deepEqual(r.events, [
        { runId: "run-1", name: connectEventName("oap_one"), payload: { ok: true }, eventId: "oap_one" },
      ]);
      // The page opened again wakes again with the same event id (a wake lost to a crash), changing nothing.
      assert.equal((await r.composio.accounts.complete(callback(location))).ok, true);
      assert.equal(r.events[1]?.eventId, "oap_one");
      assert.deepEqual(await r.composio.accounts.prepare(r.a, "github"), { kind: "ready" });

      // The account is the tenant's own user's; the other tenant has none and cannot remove it.
      const [mine] = await r.composio.accounts.list(r.a);
      assert.equal(mine?.toolkit, "github");
      assert.equal(r.server.accounts.get(mine?.id as string)?.user_id, composioUserId(r.a.tenantId));
      assert.notEqual(composioUserId(r.a.tenantId), composioUserId(r.other.tenantId));
      assert.deepEqual(await r.composio.accounts.list(r.other), []);
      assert.equal((await r.composio.accounts.prepare(r.other, "github")).kind, "connect");
      await assert.rejects(r.composio.accounts.remove(r.other, mine?.id as string), (e) =>
        AgentdError.is(e, "not_found"),
      );
      assert.ok(r.server.accounts.has(mine?.id as string));
      // Nothing agentd shows of an account carries its credentials (Composio returns them to the key's owner).
      assert.doesNotMatch(JSON.stringify(await r.composio.accounts.list(r.a)), /gho_/);

      // Expired at Composio: the person is asked to connect again.
      r.server.expire(composioUserId(r.a.tenantId), "github");
      assert.deepEqual(await r.composio.accounts.prepare(r.a, "github"), {
        kind: "connect",
        app: "github",
        reason: "needs_reconnect",
      });
      assert.deepEqual(await r.composio.accounts.remove(r.a, mine?.id as string), {
        removed: { ...mine, status: "EXPIRED" },
      });
      assert.equal(r.server.accounts.has(mine?.id as string), false);
      assert.deepEqual(await r.composio.accounts.list(r.a), []);
    });

    test("a refused connection wakes the run with the refusal; an expired link is refused", async (t) => {
      const r = await rig(t, b);
      const { url } = await r.composio.accounts.begin(r.a, {
        id: "oap_no",
        toolkit: "github",
        runId: "run-2",
        sessionId: null,
      });
      const denied = await r.composio.accounts.complete(callback(await r.server.complete(url, "deny")));
      assert.equal(denied.ok, false);
      assert.deepEqual(
        r.events.map((e) => e.payload),
        [{ ok: false, error: "Composio reported that the connection failed" }],
      );
      const late = await r.composio.accounts.begin(r.a, {
        id: "oap_late",
        toolkit: "github",
        runId: "run-3",
        sessionId: null,
      });
      const location = await r.server.complete(late.url);
      r.clock.now += 2 * 60 * 60_000;
      await assert.rejects(r.composio.accounts.complete(callback(location)), (e) => AgentdError.is(e, "conflict"));
      await assert.rejects(
        r.composio.accounts.complete(new URL(`${PUBLIC_URL}/composio/callback?state=made-up`)),
        (e) => AgentdError.is(e, "not_found"),
      );
    });

    test("a tenant's own key goes before the operator's; without any, Composio is off and says how to set it", async (t) => {
      const r = await rig(t, b);
      await r.vault.put(r.other, "COMPOSIO_API_KEY", OWN_KEY);
      await r.composio.accounts.list(r.a);
      await r.composio.accounts.list(r.other);
      assert.deepEqual(
        r.server.requests.filter((q) => q.path === "/api/v3.1/connected_accounts").map((q) => q.key),
        ["ck_operator", OWN_KEY],
      );
      // Its key is in its vault, sealed: no stored byte holds it.
      const stored = await storedText(r.place);
      assert.ok(stored.includes(r.other.tenantId), "the check reads the stored data");
      assert.ok(!stored.includes(OWN_KEY), "the tenant's own key only sealed in its vault");
      await r.vault.put(r.other, "COMPOSIO_API_KEY", "ck_revoked");
      await assert.rejects(r.composio.accounts.list(r.other), (e) => {
        assert.ok(AgentdError.is(e, "not_configured"));
        assert.match(e.message, /Composio answered 401: Invalid API key/);
        assert.doesNotMatch(e.message, /ck_revoked/);
        return true;
      });
      const off = new ComposioService({
        config: { baseURL: r.server.url, versions: {} },
        db: r.db,
        vault: r.vault,
        now: Date.now,
        scope: (id) => r.tenants.scope(id),
        publicUrl: PUBLIC_URL,
        linkTtlMs: 60_000,
        events: { sendEvent: async () => ({}) },
      });
      assert.deepEqual(await off.source.list(r.a, new AbortController().signal), []);
      assert.equal((await off.source.list(r.other, new AbortController().signal)).length, 4, "its own key");
      const p = await off.accounts.prepare(r.a, "github");
      assert.equal(p.kind, "error");
      assert.match(p.kind === "error" ? p.message : "", /AGENTD_COMPOSIO_API_KEY.*COMPOSIO_API_KEY/);
    });

    test("find_tools: a page of a toolkit's tools; execute: as the tenant's user, at a pinned version, never its credentials", async (t) => {
      const r = await rig(t, b, { github: "20250909_00" });
      const ctx = { signal: new AbortController().signal } as never;
      const call = (name: string, args: unknown, scope = r.a) =>
        r.composio.source.call(scope, { server: "composio", name }, args, ctx);
      const found = await call("find_tools", { toolkit: "github" });
      assert.match(found, /^20 tool\(s\) of github/);
      assert.match(found, /GITHUB_STAR_A_REPOSITORY_FOR_THE_AUTHENTICATED_USER: Stars a repository/);
      assert.equal((await call("find_tools", { toolkit: "github", search: "star" })).split("\n").length, 3);
      const toolsQuery = r.server.requests.find((q) => q.path === "/api/v3.1/tools")?.query;
      assert.equal(toolsQuery?.get("toolkit_versions[github]"), "20250909_00", "listed at the pinned version");

      const star = {
        toolkit: "github",
        tool: "GITHUB_STAR_A_REPOSITORY_FOR_THE_AUTHENTICATED_USER",
        arguments: { owner: "octo", repo: "hello" },
      };
      // Not connected: Composio's own answer, as the model reads it.
      assert.match(await call("execute", star), /"successful":false.*No active connection/);
      const { url } = await r.composio.accounts.begin(r.a, {
        id: "oap_x",
        toolkit: "github",
        runId: null,
        sessionId: null,
      });
      await r.composio.accounts.complete(callback(await r.server.complete(url)));
      const out = await call("execute", star);
      assert.deepEqual(JSON.parse(out), {
        successful: true,
        data: { status_code: 204, message: "Star a repository: octo/hello" },
      });
      assert.deepEqual(
        r.server.executed.map((e) => [e.slug, e.user_id, e.version]),
        [[star.tool, composioUserId(r.a.tenantId), "20250909_00"]],
      );
      // The other tenant runs as its own user: Composio finds no account of it.
      assert.match(await call("execute", star, r.other), /"successful":false/);
      assert.equal(r.server.executed.length, 1);
      // A tool of another toolkit than the one whose connection the chain checked is refused.
      await assert.rejects(call("execute", { ...star, toolkit: "slack" }), (e) => AgentdError.is(e, "bad_request"));
      await assert.rejects(call("execute", { ...star, tool: "GITHUB_NOPE" }), (e) => {
        assert.ok(AgentdError.is(e, "not_found"));
        return true;
      });
      const accounts = await call("accounts", {});
      assert.match(accounts, /^github: ACTIVE \(id ca_/);
      assert.doesNotMatch(`${found}${out}${accounts}`, /gho_/);
      // The chat's disconnect: another tenant's id is not found; its own is removed at Composio.
      const id = /id (ca_\w+)/.exec(accounts)?.[1] as string;
      await assert.rejects(call("disconnect", { id }, r.other), (e) => AgentdError.is(e, "not_found"));
      assert.equal(await call("disconnect", { id }), `removed the github account ${id} from Composio`);
      assert.equal(r.server.accounts.has(id), false);
      assert.equal(await call("accounts", {}), "no accounts are connected through Composio yet");

      // Without an operator pin, the version the tool reports (never "latest").
      const unpinned = await rig(t, b);
      const u = await unpinned.composio.accounts.begin(unpinned.a, {
        id: "oap_y",
        toolkit: "github",
        runId: null,
        sessionId: null,
      });
      await unpinned.composio.accounts.complete(callback(await unpinned.server.complete(u.url)));
      await unpinned.composio.source.call(unpinned.a, { server: "composio", name: "execute" }, star, ctx);
      assert.equal(unpinned.server.executed[0]?.version, "20250909_00");
    });
  });

describe("agentd doctor's Composio line", () => {
  test("no key: not set up, and how; a key Composio accepts; one it refuses (never printed); no public URL", async (t) => {
    const server = await startComposioServer();
    t.after(() => server.close());
    const off = await checkComposio({ versions: {} }, undefined);
    assert.equal(off.ok, true);
    assert.match(off.text, /AGENTD_COMPOSIO_API_KEY/);
    const good = await checkComposio(
      { apiKey: "ck_operator", baseURL: server.url, versions: { github: "1" } },
      PUBLIC_URL,
    );
    assert.deepEqual(
      [good.ok, good.text],
      [true, `${new URL(server.url).host} accepts the key; toolkits pinned: github`],
    );
    const bad = await checkComposio({ apiKey: "ck_wrong_key", baseURL: server.url, versions: {} }, PUBLIC_URL);
    assert.equal(bad.ok, false);
    assert.match(bad.text, /Composio answered 401: Invalid API key: check AGENTD_COMPOSIO_API_KEY/);
    assert.doesNotMatch(bad.text, /ck_wrong_key/);
    const noUrl = await checkComposio({ apiKey: "ck_operator", baseURL: server.url, versions: {} }, undefined);
    assert.equal(noUrl.ok, false);
    assert.match(noUrl.text, /AGENTD_PUBLIC_URL/);
  });
});
