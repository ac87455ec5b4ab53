/**
 * A connection whose consent the person revoked at the provider: the next call's refresh is refused
 * (`invalid_grant`), the connection is marked needs_reconnect, and the person is told in their
 * channel with a link to authorize it again; the run waits, and once they do, the same call is made
 * with the new token. Tokens here live 60 s, so every call refreshes (the call's step wants a minute).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BACKENDS } from "../support/backends.ts";
import { startOAuthServer } from "../support/oauth-server.ts";
import { until } from "../support/wait.ts";
import { agentdWithGithub } from "./rig.ts";

const PUBLIC_URL = "http://127.0.0.1:9";

for (const b of BACKENDS)
  describe(`a revoked connection in a turn (${b.name})`, () => {
    test("consent revoked at the provider: the person is told to reconnect, with a link; the run waits and then makes the call", async (t) => {
      const server = await startOAuthServer({ redirectUri: `${PUBLIC_URL}/oauth/callback`, accessTtlSeconds: 60 });
      t.after(() => server.close());
      const { app, api, model, sent, tenant } = await agentdWithGithub(t, b, server, PUBLIC_URL);
      const star = (repo: string) => ({
        toolCalls: [
          {
            name: "http_request",
            arguments: { method: "PUT", url: `${server.apiUrl}/user/starred/octo/${repo}`, connection: "github" },
          },
        ],
      });
      const links = () => sent.filter((d) => d.key.startsWith("connect:"));
      /** The person follows the newest link and the callback is opened, as their browser would. */
      const follow = async () => {
        const link = /https?:\/\/\S+/.exec(links().at(-1)?.text ?? "")?.[0] as string;
        const back = await server.authorize(link, { account: "octocat" });
        assert.equal((await api.request(`${back.pathname}${back.search}`)).status, 200);
      };
      const turn = (text: string) =>
        app.inbox.receive({ tenantId: tenant.id, channel: "http", conversation: "c", text });

      model.script(star("one"), { text: "Starred one." });
      const first = await turn("star octo/one");
      await until(() => links().length === 1, "the first connect link");
      await follow();
      assert.equal((await app.kernel.result<{ text: string }>(first.runId)).text, "Starred one.");

      // The person withdraws consent at the provider; the next call's refresh is refused.
      await server.revokeConsent("octocat");
      model.script(star("two"), { text: "Starred two." });
      const second = await turn("star octo/two");
      await until(() => links().length === 2, "the reconnect link");
      assert.match(
        links()[1]?.text ?? "",
        /Your github connection needs to be authorized again .*Reconnect here: http/,
      );
      const listed = await api.request("/v1/connections", {
        headers: { authorization: "Bearer admin-test-token", "x-agentd-tenant": tenant.id },
      });
      assert.match(await listed.text(), /"status":"needs_reconnect"/);
      await until(async () => (await app.kernel.getRun(second.runId))?.status === "suspended", "the run waits");
      assert.deepEqual([...server.starred], ["octocat:octo/one"], "nothing was called while it waited");

      await follow();
      assert.equal((await app.kernel.result<{ text: string }>(second.runId)).text, "Starred two.");
      assert.deepEqual([...server.starred], ["octocat:octo/one", "octocat:octo/two"]);
      assert.equal((await app.connections.list(app.tenants.scope(tenant.id)))[0]?.status, "active");
      assert.equal(server.grants.authorization_code, 2);
    });
  });
