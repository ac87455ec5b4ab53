/**
 * A planted secret reaches the outside service it is meant for and nothing else: not the model's
 * requests, not the journal, not a log line, not the bytes of the database.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { policies } from "../src/agent/policy.ts";
import { createAgentd } from "../src/app.ts";
import { BACKENDS } from "./support/backends.ts";
import { storedText } from "./support/stored-text.ts";
import { startModelServer } from "./support/model-server.ts";

const SECRET = "sk-PLANTED-7f3a9c2e41d8b6";

for (const b of BACKENDS) {
  describe(`secrets (${b.name})`, () => {
    test("a vault secret is injected into the outgoing request only; model, journal, logs and storage never hold it", async (t) => {
      const seen: string[] = [];
      const service = createServer((req, res) => {
        seen.push(String(req.headers.authorization));
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ echo: req.headers.authorization, note: `your key is ${SECRET}` }));
      });
      await new Promise<void>((r) => service.listen(0, "127.0.0.1", r));
      t.after(() => service.close());
      const host = `127.0.0.1:${(service.address() as AddressInfo).port}`;
      const model = await startModelServer();
      t.after(() => model.close());
      const place = b.place(t);
      const logs: string[] = [];
      const app = await createAgentd({
        env: {},
        logger: (r) => logs.push(JSON.stringify(r)),
        config: {
          ...place,
          adminToken: "admin",
          model: { id: "m", baseURL: model.url, apiKey: "k" },
          net: { allowPrivate: false, allowHosts: [host] },
        },
      });
      t.after(() => app.close());
      await app.start();
      const tenant = await app.tenants.create("s");
      const scope = app.tenants.scope(tenant.id);
      await app.vault.put(scope, "service", SECRET);
      await policies.set(scope, { tool: "http_request", decision: "allow" }, Date.now());
      model.script(
        { toolCalls: [{ name: "http_request", arguments: { url: `http://${host}/me`, auth: { secret: "service" } } }] },
        { toolCalls: [{ name: "http_request", arguments: { url: `http://${host}/me`, auth: { secret: "nope" } } }] },
        { text: "Your account is fine." },
      );
      const r = await app.inbox.receive({
        tenantId: tenant.id,
        channel: "http",
        conversation: "c",
        text: "check my account",
      });
      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "Your account is fine.");
      assert.deepEqual(seen, [`Bearer ${SECRET}`], "the service got the secret, once");
      const toModel = model.requests.map((q) => q.raw).join("\n");
      assert.ok(toModel.includes("[secret]"), "the echoed secret reached the model redacted");
      assert.ok(toModel.includes("nope"), "an unknown secret name is an error the model sees");
      assert.ok(!toModel.includes(SECRET), "no model request holds the secret");
      assert.ok(!JSON.stringify(await app.kernel.journal(r.runId)).includes(SECRET), "nor the journal");
      assert.ok(!logs.join("\n").includes(SECRET), "nor a log line");
      await app.kernel.close();
      assert.ok(!(await storedText(place)).includes(SECRET), "nor any stored byte");
      assert.ok((await storedText(place)).includes("[secret]"), "the check reads the stored data");
    });
  });
}
