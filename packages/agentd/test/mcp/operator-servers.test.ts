/**
 * The operator's MCP servers (AGENTD_MCP_SERVERS): read from the environment and checked as the API
 * checks a tenant's (a refused variable, bad JSON and a name given twice stop the start with the
 * reason), then offered to every tenant in its turns, each tenant through a connection of its own
 * with the header secret read from its own vault: one tenant's secret never reaches the server in
 * another's requests.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { policies } from "../../src/agent/policy.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { everythingFactory, everythingStdio, startHttpMcp } from "../support/mcp-servers.ts";

const offered = (req: { body: { tools?: { function: { name: string } }[] } }) =>
  (req.body.tools ?? []).map((t) => t.function.name);
const lastToolMessage = (req: { body: { messages: { role: string; content: unknown }[] } }) =>
  String(req.body.messages.findLast((m) => m.role === "tool")?.content);

test("AGENTD_MCP_SERVERS: definitions checked as the API's; bad JSON, a refused variable and a name given twice stop the start with the reason", () => {
  const refused = (json: string, why: RegExp) =>
    assert.throws(
      () => loadConfig({ AGENTD_MCP_SERVERS: json }),
      (e: unknown) => e instanceof ConfigError && why.test(e.message),
    );
  refused("[{", /AGENTD_MCP_SERVERS is not JSON/);
  refused(
    JSON.stringify([{ ...everythingStdio("tools"), env: { NODE_OPTIONS: { value: "--require /tmp/x.js" } } }]),
    /AGENTD_MCP_SERVERS: 0\.env: NODE_OPTIONS may not be set/,
  );
  refused(
    JSON.stringify([{ name: "docs", transport: "http", url: "https://u:p@docs.example/mcp" }]),
    /AGENTD_MCP_SERVERS: 0\.url: an http\(s\) URL without credentials/,
  );
  refused(
    JSON.stringify([
      { name: "docs", transport: "http", url: "https://a.example/mcp" },
      { name: "docs", transport: "http", url: "https://b.example/mcp" },
    ]),
    /names the server "docs" twice/,
  );
  assert.deepEqual(loadConfig({}).mcp.servers, []);
});

for (const b of BACKENDS)
  describe(`the operator's MCP servers in turns (${b.name})`, () => {
    test("a server from AGENTD_MCP_SERVERS is offered to every tenant; each calls it through its own connection, with its own vault's secret in the header", async (t) => {
      const http = await startHttpMcp(await everythingFactory());
      t.after(() => http.close());
      const config = loadConfig({
        AGENTD_MCP_SERVERS: JSON.stringify([
          {
            name: "docs",
            transport: "http",
            url: http.url,
            headers: { Authorization: { secret: "DOCS_KEY", prefix: "Bearer " } },
          },
        ]),
        AGENTD_MCP_CONNECTIONS: "3",
      });
      assert.equal(config.mcp.maxPerTenant, 3);
      const { app, model, tenantId } = await testAgentd(t, b, {
        config: { mcp: config.mcp, net: { allowPrivate: false, allowHosts: [new URL(http.url).host] } },
      });
      const other = (await app.tenants.create("other", {})).id;
      const keys = { [tenantId]: "docs-key-of-tenant-a-5e1f", [other]: "docs-key-of-tenant-b-9c0d" };
      for (const id of [tenantId, other]) {
        const scope = app.tenants.scope(id);
        await app.vault.put(scope, "DOCS_KEY", keys[id] as string);
        await policies.set(scope, { tool: "mcp__docs__echo", decision: "allow" }, Date.now());
        // Listed with the tenant's own servers, marked as the operator's.
        assert.deepEqual(
          (await app.mcp.servers.list(scope)).map((s) => [s.name, s.origin]),
          [["docs", "operator"]],
        );
      }

      const turn = async (id: string, words: string) => {
        const seen = http.authorizations.length;
        model.script(
          { toolCalls: [{ name: "mcp__docs__echo", arguments: { message: words } }] },
          { text: `said ${words}` },
        );
        const r = await app.inbox.receive({ tenantId: id, channel: "http", conversation: "c", text: words });
        assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, `said ${words}`);
        assert.ok(offered(model.requests.at(-2)!).includes("mcp__docs__echo"), "offered to this tenant");
        assert.equal(
          lastToolMessage(model.requests.at(-1)!),
          `<untrusted source="mcp__docs__echo">\nEcho: ${words}\n</untrusted>`,
        );
        return http.authorizations.slice(seen);
      };

      const a = await turn(tenantId, "from a");
      assert.ok(a.length > 0);
      assert.deepEqual([...new Set(a)], [`Bearer ${keys[tenantId]}`], "tenant a's requests carry its own key only");
      const bSeen = await turn(other, "from b");
      assert.ok(bSeen.length > 0);
      assert.deepEqual([...new Set(bSeen)], [`Bearer ${keys[other]}`], "tenant b's requests carry its own key only");
      assert.equal(http.sessions, 2, "a session per tenant");
      assert.deepEqual(
        app.mcp.pool.stats(),
        new Map([
          [tenantId, 1],
          [other, 1],
        ]),
      );
      // Neither key reached the model.
      const toModel = model.requests.map((q) => q.raw).join("\n");
      for (const key of Object.values(keys)) assert.ok(!toModel.includes(key));
    });
  });
