/**
 * A turn through Composio (the real SDK against the stand-in of its API): the model finds a toolkit's
 * tools (the prompt carries four small tools, never the toolkit's schemas), executes one, the chain's
 * connect stage sends the Connect Link and the run waits durably, Composio's callback wakes it once
 * the account is ACTIVE, and the tool runs as the tenant's own Composio user at the pinned version.
 * The account's credential (Composio returns it to the key's owner) is planted and found nowhere:
 * not in a model request, the journal, a log, a delivery, an API answer or a stored byte.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { policies } from "../../src/agent/policy.ts";
import { createApi } from "../../src/api/create.ts";
import { createAgentd } from "../../src/app.ts";
import type { Delivery } from "../../src/channels/ports.ts";
import { composioUserId } from "../../src/composio/user.ts";
import { BACKENDS } from "../support/backends.ts";
import { startComposioServer } from "../support/composio-server.ts";
import { startModelServer } from "../support/model-server.ts";
import { storedText } from "../support/stored-text.ts";
import { until } from "../support/wait.ts";

const PUBLIC_URL = "http://127.0.0.1:9";
const STAR = "GITHUB_STAR_A_REPOSITORY_FOR_THE_AUTHENTICATED_USER";

for (const b of BACKENDS)
  describe(`a turn through Composio (${b.name})`, () => {
    test("find the toolkit's tool → execute → Connect Link → ACTIVE → the run resumes; the credential leaks nowhere", async (t) => {
      const composio = await startComposioServer();
      t.after(() => composio.close());
      const model = await startModelServer();
      t.after(() => model.close());
      const place = b.place(t);
      const logs: string[] = [];
      const app = await createAgentd({
        env: {},
        logger: (r) => logs.push(JSON.stringify(r)),
        config: {
          ...place,
          adminToken: "admin-test-token",
          model: { id: "m", baseURL: model.url, apiKey: "k" },
          connections: { apps: [], linkTtl: "1h", publicUrl: PUBLIC_URL },
          composio: { apiKey: "ck_operator", baseURL: composio.url, versions: { github: "20250909_00" } },
        },
      });
      t.after(() => app.close());
      const sent: Delivery[] = [];
      app.channels.register({ channel: "http", deliver: async (d) => void sent.push(d) });
      await app.start();
      const api = createApi(app);
      const tenant = await app.tenants.create("s");
      const scope = app.tenants.scope(tenant.id);
      await policies.set(scope, { tool: "composio__composio__execute", decision: "allow" }, Date.now());
      const star = { toolkit: "github", tool: STAR, arguments: { owner: "octo", repo: "hello" } };
      model.script(
        { toolCalls: [{ name: "composio__composio__find_tools", arguments: { toolkit: "github", search: "star" } }] },
        { toolCalls: [{ name: "composio__composio__execute", arguments: star }] },
        { text: "Starred octo/hello." },
      );
      const r = await app.inbox.receive({
        tenantId: tenant.id,
        channel: "http",
        conversation: "c",
        text: "star the repo octo/hello",
      });
      await until(() => sent.some((d) => d.key.startsWith("connect:")), "the connect link was sent");
      const notice = sent.find((d) => d.key.startsWith("connect:"))?.text ?? "";
      assert.match(notice, /your github account/);
      const link = /https?:\/\/\S+/.exec(notice)?.[0] as string;
      assert.ok(link.startsWith(`${composio.url}/connect/`), link);
      await until(async () => (await app.kernel.getRun(r.runId))?.status === "suspended", "the run waits, suspended");
      assert.equal(composio.executed.length, 0, "nothing ran before the account is connected");

      const back = new URL(await composio.complete(link));
      assert.equal(back.pathname, "/composio/callback");
      const page = await api.request(`${back.pathname}${back.search}`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /github is connected through Composio/);

      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "Starred octo/hello.");
      assert.deepEqual(
        composio.executed.map((e) => [e.slug, e.user_id, e.version, e.arguments]),
        [[STAR, composioUserId(tenant.id), "20250909_00", { owner: "octo", repo: "hello" }]],
      );
      assert.equal(sent.filter((d) => d.key.startsWith("connect:")).length, 1, "one link, sent once");

      // The first prompt carried neither the toolkit's schemas nor Composio's own tools (in the apps
      // group, loaded on demand); the toolkit's tools came as a result, fenced as untrusted.
      const first = model.requests[0]?.raw ?? "";
      assert.doesNotMatch(first, /composio__composio__find_tools/);
      assert.match(first, /load_tools/);
      assert.doesNotMatch(first, /GITHUB_FILLER_ACTION/);
      assert.match(model.requests[1]?.raw ?? "", /<untrusted source=\\"composio__composio__find_tools\\">/);
      const second = model.requests[1]?.raw ?? "";
      assert.match(second, new RegExp(STAR));
      assert.match(model.requests[2]?.raw ?? "", /Star a repository: octo\/hello/);

      const headers = { authorization: "Bearer admin-test-token", "x-agentd-tenant": tenant.id };
      const listed = await api.request("/v1/composio/accounts", { headers });
      const body = await listed.text();
      assert.equal(listed.status, 200);
      const { accounts } = JSON.parse(body) as { accounts: { id: string; toolkit: string; status: string }[] };
      assert.deepEqual(
        accounts.map((a) => [a.toolkit, a.status]),
        [["github", "ACTIVE"]],
      );

      const credential = [...composio.accounts.values()][0]?.token as string;
      assert.match(credential, /^gho_/);
      const toModel = model.requests.map((q) => q.raw).join("\n");
      for (const [where, text] of [
        ["model requests", toModel],
        ["the journal", JSON.stringify(await app.kernel.journal(r.runId))],
        ["the logs", logs.join("\n")],
        ["the API's list", body],
        ["the deliveries", JSON.stringify(sent)],
      ] as const) {
        assert.ok(!text.includes(credential), `the credential is not in ${where}`);
        assert.ok(!text.includes("ck_operator"), `the API key is not in ${where}`);
      }

      // Removed through the API: gone at Composio; another tenant's id is not found.
      const otherTenant = await app.tenants.create("o");
      const foreign = await api.request(`/v1/composio/accounts/${accounts[0]?.id}`, {
        method: "DELETE",
        headers: { ...headers, "x-agentd-tenant": otherTenant.id },
      });
      assert.equal(foreign.status, 404);
      const removed = await api.request(`/v1/composio/accounts/${accounts[0]?.id}`, { method: "DELETE", headers });
      assert.equal(removed.status, 200);
      assert.equal(composio.accounts.size, 0);

      await app.kernel.close();
      const stored = await storedText(place);
      assert.ok(
        stored.includes(composioUserId(tenant.id)) || stored.includes("octo/hello"),
        "the check reads the stored data",
      );
      assert.ok(!stored.includes(credential), "nor any stored byte");
      assert.ok(!stored.includes("ck_operator"));
    });

    test("without a key Composio's tools are not offered, and its API says how to set one up", async (t) => {
      const model = await startModelServer();
      t.after(() => model.close());
      const place = b.place(t);
      const app = await createAgentd({
        env: {},
        logger: () => {},
        config: { ...place, adminToken: "admin-test-token", model: { id: "m", baseURL: model.url, apiKey: "k" } },
        worker: false,
      });
      t.after(() => app.close());
      const api = createApi(app);
      const tenant = await app.tenants.create("s");
      const headers = { authorization: "Bearer admin-test-token", "x-agentd-tenant": tenant.id };
      const listed = await api.request("/v1/composio/accounts", { headers });
      assert.deepEqual(await listed.json(), { enabled: false, accounts: [] });
      const connect = await api.request("/v1/composio/accounts/github/connect", { method: "POST", headers });
      assert.equal(connect.status, 409);
      assert.match(JSON.stringify(await connect.json()), /AGENTD_COMPOSIO_API_KEY/);
      const resolved = await app.tools.resolve(app.tenants.scope(tenant.id), { allow: null, deny: [], sources: true });
      assert.equal(resolved.sourced.filter((s) => s.source === "composio").length, 0);
    });
  });
