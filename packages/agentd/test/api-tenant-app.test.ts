import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { createApi } from "../src/api/create.ts";
import { scopeOf, type TenantEnv } from "../src/api/env.ts";
import { openApiDocument } from "../src/api/openapi.ts";
import { ADMIN } from "./support/api.ts";
import { testAgentd } from "./support/app.ts";
import { BACKENDS } from "./support/backends.ts";

const TENANT = "x-agentd-tenant";

for (const b of BACKENDS) {
  describe(`HTTP API: the tenant sub-app (${b.name})`, () => {
    test("a route added to the tenant sub-app acts for the API key's tenant, with no list to update; the admin without X-Agentd-Tenant gets the clear 400", async (t) => {
      const { app, tenantId } = await testAgentd(t, b, { noModel: true, worker: false });
      await app.vault.put(app.tenants.scope(tenantId), "probe", "value");
      // A route file the way a newcomer writes one: a Hono of its own, handed to the tenant sub-app.
      const probe = new Hono<TenantEnv>().get("/probe", async (c) =>
        c.json({ tenantId: c.get("tenantId"), secrets: (await app.vault.list(scopeOf(app, c))).map((s) => s.name) }),
      );
      const api = createApi(app, { tenantRoutes: [probe] });
      const { key } = await app.tenants.createApiKey(tenantId);
      const call = async (token: string, headers: Record<string, string> = {}) => {
        const res = await api.request("/v1/probe", { headers: { authorization: `Bearer ${token}`, ...headers } });
        return { status: res.status, body: (await res.json()) as any };
      };

      const byKey = await call(key);
      assert.equal(byKey.status, 200, JSON.stringify(byKey.body));
      assert.deepEqual(byKey.body, { tenantId, secrets: ["probe"] }, "the key's tenant, and its data");
      const byAdmin = await call(ADMIN, { [TENANT]: tenantId });
      assert.deepEqual(byAdmin.body, { tenantId, secrets: ["probe"] }, "the tenant the admin names");

      const unnamed = await call(ADMIN);
      assert.equal(unnamed.status, 400);
      assert.equal(unnamed.body.error.code, "tenant_required");
      assert.match(unnamed.body.error.message, /X-Agentd-Tenant: <tenant id>/);
      const other = await app.tenants.create("other");
      assert.equal((await call(key, { [TENANT]: other.id })).status, 403, "a key acts for its own tenant only");
      assert.equal((await call("ak_wrong")).status, 401);
    });

    test("every tenant route the reference lists needs a tenant from the admin, and no tenant guard reaches the operator's routes or unknown paths", async (t) => {
      const { app } = await testAgentd(t, b, { noModel: true, worker: false });
      const api = createApi(app);
      const paths = openApiDocument().paths as Record<string, Record<string, { tags: string[] }>>;
      let checked = 0;
      for (const [path, ops] of Object.entries(paths))
        for (const [method, op] of Object.entries(ops)) {
          if (!op.tags.includes("tenant")) continue;
          const res = await api.request(path.replace(/\{\w+\}/g, "x"), {
            method: method.toUpperCase(),
            headers: { authorization: `Bearer ${ADMIN}` },
          });
          const body = (await res.json()) as any;
          assert.deepEqual([res.status, body.error?.code], [400, "tenant_required"], `${method.toUpperCase()} ${path}`);
          checked++;
        }
      assert.ok(checked >= 30, `${checked} tenant routes checked`);
      const admin = { authorization: `Bearer ${ADMIN}` };
      assert.equal(
        (await api.request("/v1/tenants", { headers: admin })).status,
        200,
        "the operator's routes need no tenant",
      );
      const unknown = await api.request("/v1/nothing-here", { headers: admin });
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as any).error.code, "not_found");
    });
  });
}
