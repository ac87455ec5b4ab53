import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { policies } from "../../src/agent/policy.ts";
import { findChromium } from "../../src/tools/browser/index.ts";
import type { SavedBrowser } from "../../src/tools/browser/state.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { startSite } from "../support/browser-site.ts";
import type { RecordedRequest } from "../support/model-server.ts";

const chromium = findChromium();
const skip = chromium ? false : "no Chromium installed (apt-get install chromium); browser tests skip";

for (const b of BACKENDS) {
  describe(`the browser in a turn (${b.name})`, { skip }, () => {
    test("the model opens a page, signs in by refs (allowed on this site by policy), and the login is kept encrypted in the vault", {
      timeout: 120_000,
    }, async (t) => {
      const site = await startSite();
      t.after(() => site.close());
      const { app, model, tenantId } = await testAgentd(t, b, {
        config: { net: { allowPrivate: false, allowHosts: [site.host] } },
      });
      assert.equal(app.tools.get("browser")?.defaultDecision, "allow");
      assert.equal(app.tools.get("browser_act")?.defaultDecision, "ask", "acting asks unless a policy allows the site");
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "browser_act", pattern: `* ${site.url}/*`, decision: "allow" }, Date.now());
      const lastTool = (req: RecordedRequest) => String(req.body.messages.at(-1)?.content ?? "");
      const refIn = (text: string, line: RegExp) =>
        new RegExp(`${line.source}.*?\\[ref=((?:f\\d+)?e\\d+)\\]`).exec(text.replaceAll('\\"', '"'))?.[1] ?? "e0";
      const url = `${site.url}/login`;
      model.script(
        { toolCalls: [{ name: "browser", arguments: { action: "open", url } }] },
        (req) => ({
          toolCalls: [
            {
              name: "browser_act",
              arguments: { action: "type", url, ref: refIn(lastTool(req), /textbox "Username"/), text: "ada" },
            },
          ],
        }),
        (req) => ({
          toolCalls: [
            {
              name: "browser_act",
              arguments: {
                action: "type",
                url,
                ref: refIn(lastTool(req), /textbox "Password"/),
                text: "ada-pw",
                submit: true,
              },
            },
          ],
        }),
        { text: "You are signed in." },
      );
      const r = await app.inbox.receive({
        tenantId,
        channel: "http",
        conversation: "c",
        text: "sign me in to the harbour shop",
      });
      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "You are signed in.");
      assert.match(
        lastTool(model.requests.at(-1)!),
        /<untrusted source="browser_act">\nPage: Account — http:\/\/127\.0\.0\.1:\d+\/account\n[\s\S]*Signed in as ada/,
      );
      assert.deepEqual(
        site.posts.map((p) => p.fields),
        [{ username: "ada", password: "ada-pw" }],
      );
      const state = JSON.parse((await app.vault.get(scope, "sys.browser.state"))!) as SavedBrowser;
      assert.deepEqual(
        state.storage.cookies.filter((c) => c.name === "session").map((c) => c.value),
        ["ada"],
      );
      const raw = JSON.stringify(await scope.all("SELECT * FROM os_secrets WHERE tenant_id = $tenant"));
      assert.doesNotMatch(raw, /session|127\.0\.0\.1/, "sealed: the stored row shows neither the cookie nor the URL");
      await assert.rejects(app.vault.reader(scope).get("sys.browser.state"), /reserved for agentd's own use/);
    });
  });
}
