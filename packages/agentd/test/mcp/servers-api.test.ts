import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hostSpawner } from "../../src/mcp/transport/spawn.ts";
import { served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { everythingStdio } from "../support/mcp-servers.ts";

const operator = {
  name: "docs",
  transport: "http" as const,
  url: "https://docs.example/mcp",
  headers: {},
  enabled: true,
};

for (const b of BACKENDS) {
  describe(`MCP servers through the API (${b.name})`, () => {
    test("add, list, test, turn off and remove a tenant's server; bad definitions refused with the reason; the operator's listed, not removable", async (t) => {
      const { call, app, tenantId } = await served(t, b, {
        config: { mcp: { servers: [operator], idleMs: 60_000, maxPerTenant: 4 } },
        mcp: { spawner: hostSpawner },
      });
      const added = await call("POST", "/v1/mcp/servers", { body: everythingStdio() });
      assert.equal(added.status, 201, added.text);
      assert.equal(added.body.origin, "tenant");

      const refusals: [unknown, number, RegExp][] = [
        [
          { ...everythingStdio("x"), env: { NODE_OPTIONS: { value: "--require /tmp/evil.js" } } },
          400,
          /NODE_OPTIONS may not be set/,
        ],
        [{ ...everythingStdio("y"), env: { LD_PRELOAD: { value: "/tmp/evil.so" } } }, 400, /LD_PRELOAD may not be set/],
        [{ name: "lan", transport: "http", url: "http://10.1.2.3/mcp" }, 400, /URL is refused: .*10\.1\.2\.3/],
        [{ name: "meta", transport: "http", url: "http://169.254.169.254/latest" }, 400, /URL is refused/],
        [{ name: "creds", transport: "http", url: "https://u:p@example.com/mcp" }, 400, /without credentials/],
        [{ name: "Bad Name", transport: "http", url: "https://example.com/mcp" }, 400, /a server name is 1-32/],
        [everythingStdio(), 409, /already has an MCP server named "everything"/],
        [{ ...operator }, 409, /operator gives every tenant/],
      ];
      for (const [body, status, why] of refusals) {
        const r = await call("POST", "/v1/mcp/servers", { body });
        assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
        assert.match(r.body.error.message, why);
      }

      const list = await call("GET", "/v1/mcp/servers");
      assert.deepEqual(
        list.body.servers.map((s: { name: string; origin: string }) => [s.name, s.origin]),
        [
          ["docs", "operator"],
          ["everything", "tenant"],
        ],
      );
      const tested = await call("POST", "/v1/mcp/servers/everything/test");
      assert.equal(tested.body.ok, true, tested.text);
      assert.ok(
        tested.body.tools.some(
          (x: { name: string; offeredAs: string }) =>
            x.name === "get-sum" && x.offeredAs === "mcp__everything__get-sum",
        ),
      );
      assert.deepEqual(app.mcp.pool.stats(), new Map([[tenantId, 1]]));

      const off = await call("PATCH", "/v1/mcp/servers/everything", { body: { enabled: false } });
      assert.equal(off.body.enabled, false);
      assert.deepEqual(app.mcp.pool.stats(), new Map(), "turning it off closed its connection");
      assert.deepEqual(await app.mcp.servers.enabled(app.tenants.scope(tenantId)), [
        { ...operator, origin: "operator", createdAt: null },
      ]);

      assert.equal((await call("DELETE", "/v1/mcp/servers/docs")).status, 409);
      assert.equal((await call("DELETE", "/v1/mcp/servers/everything")).status, 204);
      assert.equal((await call("DELETE", "/v1/mcp/servers/everything")).status, 404);
      assert.equal((await call("POST", "/v1/mcp/servers/everything/test")).status, 404);
    });
  });
}
