/**
 * MCP servers' OAuth beyond the first authorization: a client registered beforehand (no dynamic
 * registration, its secret read from the tenant's vault), scope step-up in a turn (a 403
 * insufficient_scope sends the person a link for the wider scope, and the call waits for it), and
 * token refreshes under one lease across processes (a rotating refresh token spent once).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { refreshAuthorization, type StoredOAuthClientInformation } from "@modelcontextprotocol/client";
import { policies } from "../../src/agent/policy.ts";
import { createApi } from "../../src/api/create.ts";
import type { Delivery } from "../../src/channels/ports.ts";
import { mcpKeptName } from "../../src/connections/mcp-auth.ts";
import { Connections } from "../../src/connections/service.ts";
import { McpError } from "../../src/mcp/errors.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { type OAuthServer, startOAuthServer } from "../support/oauth-server.ts";
import { protectedMcp } from "../support/protected-mcp.ts";
import { until } from "../support/wait.ts";

const PUBLIC_URL = "http://127.0.0.1:9";
const CONFIG = {
  net: { allowPrivate: true, allowHosts: [] },
  connections: { apps: [], linkTtl: "1h", publicUrl: PUBLIC_URL },
};

async function rig(t: { after(fn: () => unknown): void }, b: (typeof BACKENDS)[number], needs = {}) {
  let server!: OAuthServer;
  const mcp = await protectedMcp(t, () => server, { needs });
  server = await startOAuthServer({ redirectUri: `${PUBLIC_URL}/oauth/callback`, resources: [mcp.url] });
  t.after(() => server.close());
  const registered: string[] = [];
  server.provider.on("registration_create.success", (ctx: { oidc?: { client?: { clientId?: string } } }) =>
    registered.push(String(ctx.oidc?.client?.clientId)),
  );
  const a = await testAgentd(t, b, { config: CONFIG });
  const scope = a.app.tenants.scope(a.tenantId);
  const api = createApi(a.app);
  /** The person follows the link the transport recorded, and agentd's callback completes it. */
  const authorize = async (link: string) => {
    const back = await server.authorize(link, { account: "ann" });
    const page = await api.request(`${back.pathname}${back.search}`);
    assert.equal(page.status, 200, await page.text());
  };
  return { a, scope, mcp, server, registered, authorize };
}

for (const b of BACKENDS)
  describe(`MCP OAuth: clients, step-up, refresh (${b.name})`, () => {
    test("a client registered beforehand: its id in the link, its secret from the vault, no dynamic registration, nothing of it kept", async (t) => {
      const { a, scope, mcp, server, registered, authorize } = await rig(t, b);
      const def = {
        name: "notes",
        transport: "http",
        url: mcp.url,
        oauth: {
          clientId: server.clientId,
          clientSecret: { secret: "NOTES_CLIENT" },
          authMethod: "client_secret_post",
        },
      };
      const added = { ...def, name: "notes", url: mcp.url };
      await a.app.mcp.servers.add(scope, def);
      const found = (await a.app.mcp.servers.get(scope, "notes"))!;
      const list = () => a.app.mcp.pool.tools(scope, found, a.app.vault.reader(scope));
      // A secret the definition names and the vault lacks: said plainly, before anything is sent.
      await assert.rejects(list(), (e) => McpError.is(e, "not_configured") && /NOTES_CLIENT/.test(e.message));
      await a.app.vault.put(scope, "NOTES_CLIENT", server.clientSecret);
      await assert.rejects(list(), (e) => McpError.is(e) && e.code === "unauthorized");
      const link = (await a.app.connections.mcp.link(scope, added)) as string;
      assert.equal(new URL(link).searchParams.get("client_id"), server.clientId);
      await authorize(link);
      assert.ok((await list()).some((x) => x.name === "echo"));
      assert.deepEqual(registered, [], "no client was registered dynamically");
      assert.equal(server.grants.authorization_code, 1);
      const kept = (await a.app.vault.get(scope, mcpKeptName("notes", mcp.url))) as string;
      assert.ok(!kept.includes(server.clientSecret), "the client secret is not copied into the kept authorization");
      // A plain value for a client secret is refused: definitions are listed to the tenant.
      await assert.rejects(
        a.app.mcp.servers.add(scope, { ...def, name: "other", oauth: { clientId: "x", clientSecret: { value: "s" } } }),
        /oauth\.clientSecret/,
      );
    });

    test("a callback naming another issuer (a mix-up) is refused before the code is exchanged; a new link works", async (t) => {
      const { a, scope, mcp, server, authorize } = await rig(t, b);
      const added = { name: "notes", url: mcp.url };
      const def = await a.app.mcp.servers.add(scope, { ...added, transport: "http" });
      const list = () => a.app.mcp.pool.tools(scope, def, a.app.vault.reader(scope));
      await assert.rejects(list(), (e) => McpError.is(e, "unauthorized"));
      const link = (await a.app.connections.mcp.link(scope, added)) as string;
      const back = await server.authorize(link, { account: "ann" });
      assert.equal(back.searchParams.get("iss"), server.issuer, "the provider names itself (RFC 9207)");
      back.searchParams.set("iss", "http://127.0.0.1:9/attacker");
      const page = await createApi(a.app).request(`${back.pathname}${back.search}`);
      assert.match(await page.text(), /was not connected/);
      assert.equal(server.grants.authorization_code, 0, "the code was never sent to the token endpoint");
      assert.equal(await a.app.connections.mcp.authorized(scope, added), false);
      // The person is asked again: a new link, and through it the server's tools.
      await a.app.mcp.pool.closeFor(a.tenantId, "notes");
      await assert.rejects(list(), (e) => McpError.is(e, "unauthorized"));
      const again = (await a.app.connections.mcp.link(scope, added)) as string;
      assert.notEqual(again, link);
      await authorize(again);
      assert.ok((await list()).some((x) => x.name === "echo"));
    });

    test("step-up in a turn: a 403 insufficient_scope records a link for the wider scope, the next call sends it and waits, the callback resumes it with the wider token", async (t) => {
      const { a, scope, mcp, authorize } = await rig(t, b, { "get-sum": "mcp:write" });
      const added = { name: "notes", url: mcp.url };
      const def = await a.app.mcp.servers.add(scope, { ...added, transport: "http" });
      await assert.rejects(a.app.mcp.pool.tools(scope, def, a.app.vault.reader(scope)));
      await authorize((await a.app.connections.mcp.link(scope, added)) as string);
      await policies.set(scope, { tool: "mcp__notes__get-sum", decision: "allow" }, Date.now());
      const sent: Delivery[] = [];
      a.app.channels.register({ channel: "http", deliver: async (d) => void sent.push(d) });
      const sum = { name: "mcp__notes__get-sum", arguments: { a: 1, b: 2 } };
      a.model.script({ toolCalls: [sum] }, { toolCalls: [sum] }, { text: "The sum is 3." });
      const r = await a.app.inbox.receive({ tenantId: a.tenantId, channel: "http", conversation: "c", text: "1+2" });
      const notice = await until(() => sent.find((d) => d.key.startsWith("connect:")), "the step-up link");
      const link = String(/https?:\/\/\S+/.exec(notice.text)?.[0]);
      assert.ok(
        new URL(link).searchParams.get("scope")?.split(" ").includes("mcp:write"),
        "the link asks for the wider scope",
      );
      await authorize(link);
      assert.equal((await a.app.kernel.result<{ text: string }>(r.runId)).text, "The sum is 3.");
      const answers = ((a.model.requests.at(-1)?.body.messages ?? []) as { role: string; content: unknown }[])
        .filter((m) => m.role === "tool")
        .map((m) => String(m.content));
      assert.match(answers[0] as string, /needs the person to authorize this/);
      assert.match(answers[1] as string, /3/);
      assert.ok(mcp.scopes.at(-1)?.split(" ").includes("mcp:write"), "the call passed with the wider token");
      assert.equal(sent.filter((d) => d.key.startsWith("connect:")).length, 1, "one link");
    });

    test("refreshes under one lease across processes: racing refreshes of one rotating token spend it once, each gets the new tokens", async (t) => {
      const { a, scope, mcp, server, authorize } = await rig(t, b);
      const added = { name: "notes", url: mcp.url };
      const def = await a.app.mcp.servers.add(scope, { ...added, transport: "http" });
      await assert.rejects(a.app.mcp.pool.tools(scope, def, a.app.vault.reader(scope)));
      await authorize((await a.app.connections.mcp.link(scope, added)) as string);
      const kept = JSON.parse((await a.app.vault.get(scope, mcpKeptName("notes", mcp.url))) as string);
      // Each a process's view of the same store: its own service, no memory shared.
      const views = Array.from(
        { length: 6 },
        () =>
          new Connections({
            db: a.app.db,
            vault: a.app.vault,
            net: CONFIG.net,
            now: Date.now,
            scope: (id) => a.app.tenants.scope(id),
            apps: [],
            publicUrl: PUBLIC_URL,
            events: { sendEvent: async () => ({}) },
            linkTtlMs: 3_600_000,
          }),
      );
      const results = await Promise.all(
        views.map((v) =>
          refreshAuthorization(kept.discovery.authorizationServerUrl, {
            metadata: kept.discovery.authorizationServerMetadata,
            clientInformation: kept.client as StoredOAuthClientInformation,
            refreshToken: kept.tokens.refresh_token,
            resource: new URL(kept.resource),
            fetchFn: v.mcp.refreshing(scope, added, fetch),
          }),
        ),
      );
      assert.equal(server.grants.refresh_token, 1, "one refresh reached the provider");
      assert.equal(new Set(results.map((r) => r.access_token)).size, 1, "every caller has the same new token");
      assert.notEqual(results[0]?.refresh_token, kept.tokens.refresh_token, "the refresh token rotated");
      // The transport uses the kept tokens: its tools list with no person asked.
      await a.app.mcp.pool.closeFor(a.tenantId, "notes");
      assert.ok((await a.app.mcp.pool.tools(scope, def, a.app.vault.reader(scope))).length > 0);
      assert.equal(await a.app.connections.mcp.link(scope, added), null);
    });
  });
