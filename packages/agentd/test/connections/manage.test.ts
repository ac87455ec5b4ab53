/**
 * Connections listed, connected, tested and removed through the API, the chat (the `connections`
 * tool) and the CLI; tenants' own apps, whose client secrets never come back.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { approvals } from "../../src/agent/approvals.ts";
import { policies } from "../../src/agent/policy.ts";
import { createApi } from "../../src/api/create.ts";
import { BACKENDS, sqlite } from "../support/backends.ts";
import { testAgentd } from "../support/app.ts";
import { cleanEnv, MAIN } from "../support/cli.ts";
import { startOAuthServer } from "../support/oauth-server.ts";
import { until } from "../support/wait.ts";
import { githubApp } from "./rig.ts";

const PUBLIC_URL = "http://127.0.0.1:9";

async function setup(t: { after(fn: () => unknown): void }, b: (typeof BACKENDS)[number]) {
  const server = await startOAuthServer({ redirectUri: `${PUBLIC_URL}/oauth/callback` });
  t.after(() => server.close());
  const github = githubApp(server, { testUrl: `${server.apiUrl}/user` });
  const a = await testAgentd(t, b, {
    config: {
      net: { allowPrivate: true, allowHosts: [] },
      connections: { apps: [github], linkTtl: "1h", publicUrl: PUBLIC_URL },
    },
  });
  const api = createApi(a.app);
  const headers = {
    authorization: "Bearer admin-test-token",
    "x-agentd-tenant": a.tenantId,
    "content-type": "application/json",
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await api.request(path, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, text, json: text ? JSON.parse(text) : null };
  };
  return { ...a, server, github, api, call, headers };
}

for (const b of BACKENDS)
  describe(`managing connections (${b.name})`, () => {
    test("through the API: apps (secrets never shown), connect link, callback, list, test, remove; another tenant's apart", async (t) => {
      const s = await setup(t, b);
      const apps = await s.call("GET", "/v1/oauth-apps");
      assert.equal(apps.json.apps[0].name, "github");
      assert.ok(!apps.text.includes(s.server.clientSecret));
      // A tenant's own app: checked, an operator's name refused, its secret never shown.
      assert.equal((await s.call("PUT", "/v1/oauth-apps/mine", { clientId: "c" })).status, 400);
      assert.equal(
        (await s.call("PUT", "/v1/oauth-apps/github", { clientId: "c", issuer: s.server.issuer })).status,
        409,
      );
      const mine = await s.call("PUT", "/v1/oauth-apps/mine", {
        clientId: "c",
        clientSecret: "tenant-client-secret-1234",
        authorizationUrl: "https://auth.example.com/authorize",
        tokenUrl: "https://auth.example.com/token",
        apiHosts: ["api.example.com"],
      });
      assert.equal(mine.status, 200, mine.text);
      const both = await s.call("GET", "/v1/oauth-apps");
      assert.deepEqual(
        both.json.apps.map((a: { name: string; owner: string }) => `${a.name}:${a.owner}`),
        ["github:operator", "mine:tenant"],
      );
      assert.ok(!both.text.includes("tenant-client-secret-1234"));
      assert.equal((await s.call("DELETE", "/v1/oauth-apps/mine")).status, 204);

      assert.equal((await s.call("POST", "/v1/connections/nosuch/connect")).status, 404);
      const { url } = (await s.call("POST", "/v1/connections/github/connect")).json;
      const back = await s.server.authorize(url, { account: "bob" });
      assert.equal((await s.api.request(`${back.pathname}${back.search}`)).status, 200);
      // The link is spent: opening it with a forged state names nothing.
      assert.equal((await s.api.request(`/oauth/callback?state=forged&code=x`)).status, 404);
      const listed = await s.call("GET", "/v1/connections");
      assert.equal(listed.json.connections[0].account, "bob");
      assert.deepEqual((await s.call("POST", "/v1/connections/github/test")).json.ok, true);

      // Another tenant sees, tests and removes nothing of it, and its own connection is its own.
      const other = await s.app.tenants.create("other");
      const asOther = async (method: string, path: string) => {
        const res = await s.api.request(path, { method, headers: { ...s.headers, "x-agentd-tenant": other.id } });
        const text = await res.text();
        return { status: res.status, text, json: text ? JSON.parse(text) : null };
      };
      assert.deepEqual((await asOther("GET", "/v1/connections")).json.connections, []);
      assert.equal((await asOther("POST", "/v1/connections/github/test")).status, 404);
      assert.equal((await asOther("DELETE", "/v1/connections/github")).status, 404);
      const otherScope = s.app.tenants.scope(other.id);
      await assert.rejects(s.app.connections.bearer(otherScope, "github"), /github/);
      assert.deepEqual(await s.app.connections.prepare(otherScope, "github"), {
        kind: "connect",
        app: "github",
        reason: "missing",
      });
      const theirs = (await asOther("POST", "/v1/connections/github/connect")).json.url as string;
      const theirBack = await s.server.authorize(theirs, { account: "carol" });
      assert.equal((await s.api.request(`${theirBack.pathname}${theirBack.search}`)).status, 200);
      assert.equal((await asOther("GET", "/v1/connections")).json.connections[0].account, "carol");
      assert.equal((await s.call("GET", "/v1/connections")).json.connections[0].account, "bob");
      const tokenA = (await s.app.connections.bearer(s.app.tenants.scope(s.tenantId), "github")).token;
      assert.notEqual((await s.app.connections.bearer(otherScope, "github")).token, tokenA);

      assert.deepEqual((await s.call("DELETE", "/v1/connections/github")).json, { revoked: true });
      assert.equal((await asOther("GET", "/v1/connections")).json.connections.length, 1, "the other tenant's is kept");
      assert.equal((await asOther("POST", "/v1/connections/github/test")).json.ok, true, "and still works");
      assert.equal((await s.call("DELETE", "/v1/connections/github")).status, 404);
    });

    test("in the chat: the connections tool connects (a link, the run waits), lists, tests and removes", async (t) => {
      const s = await setup(t, b);
      const scope = s.app.tenants.scope(s.tenantId);
      await policies.set(scope, { tool: "connections", decision: "allow" }, Date.now());
      const links: string[] = [];
      s.app.channels.register({
        channel: "http",
        deliver: async (d) => void (d.key.startsWith("connect:") && links.push(d.text)),
      });
      s.model.script(
        { toolCalls: [{ name: "connections", arguments: { action: "connect", name: "github" } }] },
        { toolCalls: [{ name: "connections", arguments: { action: "list" } }] },
        { toolCalls: [{ name: "connections", arguments: { action: "test", name: "github" } }] },
        { toolCalls: [{ name: "connections", arguments: { action: "remove", name: "github" } }] },
        { text: "done" },
      );
      const r = await s.app.inbox.receive({
        tenantId: s.tenantId,
        channel: "http",
        conversation: "c",
        text: "connect github",
      });
      await until(() => links.length > 0, "the connect link was sent");
      const link = /https?:\/\/\S+/.exec(links[0] ?? "")?.[0] as string;
      const back = await s.server.authorize(link, { account: "carol" });
      assert.equal((await s.api.request(`${back.pathname}${back.search}`)).status, 200);
      // Remove asks the person even though a rule allows the tool; nothing is removed before they answer.
      const asked = await until(async () => (await approvals.list(scope))[0], "the approval of remove");
      assert.equal(asked.tool, "connections");
      assert.equal((await s.app.connections.list(scope)).length, 1);
      await approvals.decide(scope, asked.id, "once", "tester", Date.now(), s.app.kernel);
      assert.equal((await s.app.kernel.result<{ text: string }>(r.runId)).text, "done");
      const toModel = s.model.requests.map((q) => q.raw).join("\n");
      assert.match(toModel, /connected.{0,8}github/);
      assert.match(toModel, /carol/);
      assert.match(toModel, /answered 200/);
      assert.match(toModel, /revoked.{0,5}true/);
      assert.deepEqual(await s.app.connections.list(scope), []);
    });
  });

describe("agentd connections (the CLI)", () => {
  test("list, test and remove a tenant's connection on the store", async (t) => {
    const s = await setup(t, sqlite);
    const scope = s.app.tenants.scope(s.tenantId);
    const { url } = await s.app.connections.begin(scope, {
      id: "oap_cli",
      connection: "github",
      app: "github",
      runId: null,
      sessionId: null,
    });
    await s.app.connections.complete(await s.server.authorize(url, { account: "dave" }));
    const env = cleanEnv({
      AGENTD_OAUTH_APPS: JSON.stringify([s.github]),
      AGENTD_ALLOW_PRIVATE_NET: "1",
      AGENTD_PUBLIC_URL: PUBLIC_URL,
    });
    const run = (...args: string[]) =>
      promisify(execFile)(
        process.execPath,
        [MAIN, "connections", ...args, "--tenant", s.tenantId, "--data", s.place.dataDir],
        { env },
      ).then(
        (r) => r.stdout,
        (e: { stdout: string; stderr: string; code: number }) => `exit ${e.code}: ${e.stdout}${e.stderr}`,
      );
    assert.match(await run("list"), /^NAME\s+APP\s+ACCOUNT[\s\S]*github\s+github\s+dave\s+active/m);
    assert.match(await run("test", "github"), /^github: ok: 127\.0\.0\.1:\d+ answered 200/);
    assert.match(await run("connect", "github"), /^open this link[\s\S]*\/auth\?/);
    assert.match(await run("remove", "github"), /^removed connection github \(its tokens revoked at the provider\)/);
    assert.match(await run("test", "github"), /exit 1: .*no connection named github/);
  });
});
