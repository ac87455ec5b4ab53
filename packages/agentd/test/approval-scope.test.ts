import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { approvals } from "../src/agent/approvals.ts";
import { policies } from "../src/agent/policy.ts";
import { httpRequestTool } from "../src/tools/http-request/index.ts";
import { webFetchTool } from "../src/tools/web-fetch/index.ts";
import { testAgentd } from "./support/app.ts";
import { BACKENDS } from "./support/backends.ts";
import { until } from "./support/wait.ts";

async function server(t: { after(fn: () => unknown): void }): Promise<string> {
  const s = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("fine"));
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  t.after(() => new Promise((ok) => s.close(ok)));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

test("a host with * or a secret name with anything but a vault name's characters is refused", () => {
  assert.ok(!httpRequestTool.input.safeParse({ url: "https://*.example.com/" }).success);
  assert.ok(!httpRequestTool.input.safeParse({ url: "https://api.example.com/", auth: { secret: "*" } }).success);
  assert.ok(!httpRequestTool.input.safeParse({ url: "https://api.example.com/", auth: { secret: "a b" } }).success);
  assert.ok(!webFetchTool.input.safeParse({ url: "https://exa*mple.com/" }).success);
  const args = httpRequestTool.input.parse({
    method: "POST",
    url: "https://API.Example.com:443/v1/x y",
    auth: { secret: "gh_token" },
  });
  assert.equal(httpRequestTool.subject?.(args), "POST https://api.example.com/v1/x%20y with secret gh_token");
  assert.deepEqual(httpRequestTool.always?.(args), {
    pattern: "* https://api.example.com/* with secret gh_token",
    shown: "every http_request to https://api.example.com with secret gh_token",
  });
});

for (const b of BACKENDS) {
  describe(`approvals of http_request (${b.name})`, () => {
    test("the approval names the host and the secret; Always allows that host with that secret only", async (t) => {
      const [one, two] = [await server(t), await server(t)];
      const hosts = [one, two].map((u) => u.slice("http://".length));
      const { app, model, tenantId } = await testAgentd(t, b, {
        config: { net: { allowPrivate: false, allowHosts: hosts } },
      });
      const scope = app.tenants.scope(tenantId);
      await app.vault.put(scope, "k1", "value-of-k1-0001");
      await app.vault.put(scope, "k2", "value-of-k2-0002");
      let turn = 0;
      /** One turn making one call: the approval it asked for (then answered with `choice`), or null when it ran without asking. */
      const call = async (args: unknown, choice: "always" | "deny" = "deny") => {
        model.script({ toolCalls: [{ name: "http_request", arguments: args }] }, { text: "done" });
        const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: `turn ${turn++}` });
        const pending = await until(async () => {
          const a = (await approvals.list(scope, "pending"))[0];
          if (a) return a;
          const run = await app.kernel.getRun(r.runId);
          return run?.status === "completed" ? "ran" : undefined;
        });
        if (pending === "ran") return null;
        await approvals.decide(scope, pending.id, choice, "tester", Date.now(), app.kernel);
        await app.kernel.result(r.runId);
        return { subject: pending.subject, runId: r.runId };
      };

      const first = await call({ url: `${one}/items?q=1`, auth: { secret: "k1" } }, "always");
      assert.equal(first?.subject, `GET ${one}/items?q=1 with secret k1`);
      const chunks: { t: string; always?: string }[] = [];
      for await (const c of app.kernel.subscribe<{ t: string; always?: string }>(first!.runId)) chunks.push(c.data);
      assert.equal(chunks.find((c) => c.t === "approval")?.always, `every http_request to ${one} with secret k1`);
      assert.deepEqual(
        (await policies.list(scope)).map((p) => [p.pattern, p.decision]),
        [[`* ${one}/* with secret k1`, "allow"]],
      );

      assert.equal(
        await call({ method: "POST", url: `${one}/other/path`, auth: { secret: "k1" } }),
        null,
        "same host, same secret: allowed",
      );
      assert.equal(
        (await call({ url: `${one}/items`, auth: { secret: "k2" } }))?.subject,
        `GET ${one}/items with secret k2`,
        "another secret asks",
      );
      assert.equal(
        (await call({ url: `${two}/items`, auth: { secret: "k1" } }))?.subject,
        `GET ${two}/items with secret k1`,
        "another host asks",
      );
      assert.equal(
        (await call({ url: `${one}/items` }))?.subject,
        `GET ${one}/items with no secret`,
        "no secret is not that secret",
      );
      const other = one.replace("127.0.0.1", "localhost");
      assert.equal(
        (await call({ url: `${other}/items`, auth: { secret: "k1" } }))?.subject,
        `GET ${other}/items with secret k1`,
        "another name of the host asks",
      );
    });
  });
}
