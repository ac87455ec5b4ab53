/**
 * A turn that needs an app the person has not connected: the link goes to their channel, the run
 * waits durably, the callback (through the API) wakes it, and http_request sends the bearer token to
 * the app's API only. The token is planted nowhere else: not in a model request, the journal, a log
 * line, an API answer or a stored byte (except sealed in the vault).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BACKENDS } from "../support/backends.ts";
import { startOAuthServer } from "../support/oauth-server.ts";
import { assertNowhere } from "../support/planted.ts";
import { storedText } from "../support/stored-text.ts";
import { until } from "../support/wait.ts";
import { agentdWithGithub } from "./rig.ts";

const PUBLIC_URL = "http://127.0.0.1:9";

for (const b of BACKENDS)
  describe(`a turn with an OAuth connection (${b.name})`, () => {
    test("connect link → callback → the run resumes → the API call made as the person; the token leaks nowhere", async (t) => {
      const server = await startOAuthServer({ redirectUri: `${PUBLIC_URL}/oauth/callback` });
      t.after(() => server.close());
      const logs: string[] = [];
      const { app, api, model, sent, tenant, place } = await agentdWithGithub(t, b, server, PUBLIC_URL, logs);
      const star = `${server.apiUrl}/user/starred/octo/hello`;
      model.script(
        { toolCalls: [{ name: "http_request", arguments: { method: "PUT", url: star, connection: "github" } }] },
        { toolCalls: [{ name: "http_request", arguments: { url: `${server.apiUrl}/user`, connection: "github" } }] },
        // The token goes to the app's API only: another host is refused before anything is sent.
        { toolCalls: [{ name: "http_request", arguments: { url: `${server.issuer}/me`, connection: "github" } }] },
        { text: "Starred octo/hello." },
      );
      const r = await app.inbox.receive({
        tenantId: tenant.id,
        channel: "http",
        conversation: "c",
        text: "star the repo octo/hello",
      });
      await until(() => sent.some((d) => d.key.startsWith("connect:")), "the connect link was sent");
      const link = /https?:\/\/\S+/.exec(sent.find((d) => d.key.startsWith("connect:"))?.text ?? "")?.[0] as string;
      assert.ok(link.startsWith(`${server.issuer}/auth?`), link);
      await until(async () => (await app.kernel.getRun(r.runId))?.status === "suspended", "the run waits, suspended");
      const back = await server.authorize(link, { account: "octocat" });
      const page = await api.request(`${back.pathname}${back.search}`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /github is connected/);

      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "Starred octo/hello.");
      assert.deepEqual([...server.starred], ["octocat:octo/hello"]);
      const token = server.apiAuth[0]?.slice("Bearer ".length) as string;
      assert.ok(token.length > 20);
      assert.equal(sent.filter((d) => d.key.startsWith("connect:")).length, 1, "one link, sent once");

      const listed = await api.request("/v1/connections", {
        headers: { authorization: "Bearer admin-test-token", "x-agentd-tenant": tenant.id },
      });
      const body = await listed.text();
      assert.match(body, /"account":"octocat"/);
      const toModel = model.requests.map((q) => q.raw).join("\n");
      assert.match(toModel, /\[secret\]/, "the API's echo of the token reached the model redacted");
      assert.match(toModel, /sends its token only to/, "another host was refused");
      const journal = JSON.stringify(await app.kernel.journal(r.runId));
      await app.kernel.close();
      const stored = await storedText(place);
      assert.ok(stored.includes("octocat"), "the check reads the stored data");
      // Every token the provider issued (access, refresh, the code) is planted: none is anywhere but sealed in the vault.
      assert.ok(server.issued.some((s) => s.kind === "refresh" && s.value !== token));
      assert.ok(server.issued.some((s) => s.value === token));
      // The check finds a token where one is: the API's own log of the headers it received.
      assert.throws(() => assertNowhere(server.issued, { "the API's headers": server.apiAuth.join("\n") }));
      assertNowhere(server.issued, {
        "model requests": toModel,
        "the journal": journal,
        "the logs": logs.join("\n"),
        "the API's list": body,
        "the deliveries": JSON.stringify(sent),
        "any stored byte": stored,
      });
    });
  });
