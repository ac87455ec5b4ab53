/**
 * MCP servers' OAuth through the MCP SDK's flow, with agentd's callback and vault: a streamable HTTP
 * MCP server (server-everything) behind a bearer check, whose authorization server is oidc-provider
 * on 127.0.0.1. Protected-resource and authorization-server discovery, dynamic client registration,
 * PKCE and the resource indicator are the SDK's; the link is recorded for the person, the callback
 * completes it, the tokens stay in the tenant's vault and never cross to another tenant.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { policies } from "../../src/agent/policy.ts";
import { createApi } from "../../src/api/create.ts";
import type { Delivery } from "../../src/channels/ports.ts";
import { McpError } from "../../src/mcp/errors.ts";
import { BACKENDS } from "../support/backends.ts";
import { testAgentd } from "../support/app.ts";
import { type OAuthServer, startOAuthServer } from "../support/oauth-server.ts";
import { assertNowhere } from "../support/planted.ts";
import { protectedMcp } from "../support/protected-mcp.ts";
import { storedText } from "../support/stored-text.ts";
import { until } from "../support/wait.ts";

const PUBLIC_URL = "http://127.0.0.1:9";

for (const b of BACKENDS)
  describe(`MCP servers' OAuth (${b.name})`, () => {
    test("discovery, registration, PKCE and resource through the SDK; the link, the callback, tools listed; tenants apart", async (t) => {
      let server!: OAuthServer;
      const mcp = await protectedMcp(t, () => server);
      server = await startOAuthServer({ redirectUri: `${PUBLIC_URL}/oauth/callback`, resources: [mcp.url] });
      t.after(() => server.close());
      const a = await testAgentd(t, b, {
        config: {
          net: { allowPrivate: true, allowHosts: [] },
          connections: { apps: [], linkTtl: "1h", publicUrl: PUBLIC_URL },
        },
      });
      const api = createApi(a.app);
      const def = { name: "notes", transport: "http", url: mcp.url, enabled: true };
      const scopeA = a.app.tenants.scope(a.tenantId);
      const other = await a.app.tenants.create("other");
      const scopeB = a.app.tenants.scope(other.id);
      const sA = await a.app.mcp.servers.add(scopeA, def);
      const sB = await a.app.mcp.servers.add(scopeB, def);
      const list = (scope: typeof scopeA, s: typeof sA) => a.app.mcp.pool.tools(scope, s, a.app.vault.reader(scope));

      await assert.rejects(list(scopeA, sA), (e) => McpError.is(e) && e.code === "unauthorized");
      const link = await a.app.connections.mcp.link(scopeA, { name: "notes", url: mcp.url });
      assert.ok(link?.startsWith(`${server.issuer}/auth?`), String(link));
      const params = new URL(link as string).searchParams;
      assert.equal(params.get("code_challenge_method"), "S256");
      assert.equal(params.get("resource"), mcp.url);
      assert.ok(params.get("client_id"), "a client registered dynamically");

      const back = await server.authorize(link as string, { account: "ann" });
      const page = await api.request(`${back.pathname}${back.search}`);
      assert.equal(page.status, 200, await page.text());
      assert.equal(await a.app.connections.mcp.link(scopeA, { name: "notes", url: mcp.url }), null);
      const tools = await list(scopeA, sA);
      assert.ok(
        tools.some((x) => x.name === "echo"),
        "server-everything's tools, listed with the token",
      );

      // The other tenant has no token of its own, and is not given tenant A's.
      await assert.rejects(list(scopeB, sB), (e) => McpError.is(e) && e.code === "unauthorized");
      assert.equal(await a.app.connections.mcp.authorized(scopeB, { name: "notes", url: mcp.url }), false);

      const token = mcp.seen.find((h) => h.startsWith("Bearer "))?.slice(7) as string;
      assert.ok(token);
      // The access token dies: the SDK refreshes it with the kept refresh token, no person asked.
      await (await server.provider.AccessToken.find(token))?.destroy();
      await a.app.mcp.pool.closeFor(a.tenantId, "notes");
      assert.ok((await list(scopeA, sA)).length > 0);
      assert.equal(server.grants.refresh_token, 1);
      assert.equal(await a.app.connections.mcp.link(scopeA, { name: "notes", url: mcp.url }), null);
      // Consent revoked at the provider: the refresh is refused, and a new link waits for the person.
      await server.revokeConsent("ann");
      await a.app.mcp.pool.closeFor(a.tenantId, "notes");
      await assert.rejects(list(scopeA, sA), (e) => McpError.is(e) && e.code === "unauthorized");
      assert.ok((await a.app.connections.mcp.link(scopeA, { name: "notes", url: mcp.url }))?.startsWith(server.issuer));
      await a.app.kernel.close();
      // Every token issued (the refreshed ones too) is stored nowhere but sealed in the vault.
      assert.ok(server.issued.filter((s) => s.kind === "refresh").length >= 2, "a refresh token and its rotation");
      assertNowhere(server.issued, { "any stored byte": await storedText(a.place) });
    });
    test("in a turn: the server's authorize tool sends the link, the run waits, the callback resumes it, the same turn calls the server's own tool; its tokens (planted) nowhere but sealed in the vault", async (t) => {
      let server!: OAuthServer;
      const mcp = await protectedMcp(t, () => server);
      server = await startOAuthServer({ redirectUri: `${PUBLIC_URL}/oauth/callback`, resources: [mcp.url] });
      t.after(() => server.close());
      const logs: string[] = [];
      const a = await testAgentd(t, b, {
        logger: (r) => logs.push(JSON.stringify(r)),
        config: {
          net: { allowPrivate: true, allowHosts: [] },
          connections: { apps: [], linkTtl: "1h", publicUrl: PUBLIC_URL },
        },
      });
      const scope = a.app.tenants.scope(a.tenantId);
      await a.app.mcp.servers.add(scope, { name: "notes", transport: "http", url: mcp.url, enabled: true });
      // One rule allows every tool of the server: were it not to cover echo, the call would wait for a person.
      await policies.set(scope, { tool: "mcp__notes__*", decision: "allow" }, Date.now());
      const sent: Delivery[] = [];
      a.app.channels.register({ channel: "http", deliver: async (d) => void sent.push(d) });
      a.model.script(
        { toolCalls: [{ name: "mcp__notes__agentd_authorize", arguments: {} }] },
        { toolCalls: [{ name: "mcp__notes__echo", arguments: { message: "hi" } }] },
        { text: "Your notes say hi." },
        { text: "Still here." },
      );
      const first = await a.app.inbox.receive({
        tenantId: a.tenantId,
        channel: "http",
        conversation: "c",
        text: "echo hi with my notes",
      });
      const notice = await until(() => sent.find((d) => d.key.startsWith("connect:")), "the link in the channel");
      const link = String(/https?:\/\/\S+/.exec(notice.text)?.[0]);
      assert.ok(link.startsWith(`${server.issuer}/auth?`), link);
      const back = await server.authorize(link, { account: "ann" });
      assert.equal((await createApi(a.app).request(`${back.pathname}${back.search}`)).status, 200);
      // The same turn goes on with the server's own tools, listed again once it is authorized.
      assert.equal((await a.app.kernel.result<{ text: string }>(first.runId)).text, "Your notes say hi.");
      const afterAuthorize = JSON.stringify(a.model.requests[1]?.body.tools ?? []);
      assert.match(afterAuthorize, /mcp__notes__echo/);
      // The call went through the bearer check with the person's token and its answer reached the model.
      const answers = ((a.model.requests.at(-1)?.body.messages ?? []) as { role: string; content: unknown }[]).filter(
        (m) => m.role === "tool",
      );
      assert.match(String(answers.at(-1)?.content), /Echo: hi/);
      // A replay of the turn offers the same: the listing is in its journal.
      assert.ok((await a.app.kernel.journal(first.runId)).some((e) => e.name === "tools:0"));
      // The next turn is offered the server's own tools from its start, and no longer the authorize tool.
      const second = await a.app.inbox.receive({
        tenantId: a.tenantId,
        channel: "http",
        conversation: "c",
        text: "hi",
      });
      assert.equal((await a.app.kernel.result<{ text: string }>(second.runId)).text, "Still here.");
      const offered = JSON.stringify(a.model.requests.at(-1)?.body.tools ?? []);
      assert.match(offered, /mcp__notes__echo/);
      assert.doesNotMatch(offered, /agentd_authorize/);
      assert.equal(sent.filter((d) => d.key.startsWith("connect:")).length, 1, "one link");

      // The person's tokens reached the server and nothing else: planted, found nowhere but sealed in the vault.
      const bearer = mcp.seen.find((h) => h.startsWith("Bearer "))?.slice(7);
      assert.ok(server.issued.some((s) => s.kind === "access" && s.value === bearer));
      assert.ok(server.issued.some((s) => s.kind === "refresh"));
      assert.throws(() => assertNowhere(server.issued, { "the server's headers": mcp.seen.join("\n") }));
      const journals = JSON.stringify([
        await a.app.kernel.journal(first.runId),
        await a.app.kernel.journal(second.runId),
      ]);
      await a.app.kernel.close();
      assertNowhere(server.issued, {
        "model requests": a.model.requests.map((q) => q.raw).join("\n"),
        "the journal": journals,
        "the logs": logs.join("\n"),
        "the deliveries": JSON.stringify(sent),
        "any stored byte": await storedText(a.place),
      });
    });
  });
