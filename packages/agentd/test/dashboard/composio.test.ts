// A tenant's Composio accounts on the Tools page, in real Chromium, against the stand-in of
// Composio's REST API: listed with their toolkit and status, removed from the page (deleted at
// Composio, so its tokens are revoked); another tenant's account is neither shown nor removable.
import assert from "node:assert/strict";
import { test } from "node:test";
import { composioUserId } from "../../src/composio/user.ts";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { startComposioServer } from "../support/composio-server.ts";
import { assertAccessible, screenshot, signedInPage, withBrowser } from "../support/dashboard.ts";

withBrowser("dashboard Composio accounts", (browser) => {
  for (const b of BACKENDS) {
    test(`a tenant's Composio accounts listed and removed from the Tools page (${b.name})`, async (t) => {
      const composio = await startComposioServer();
      t.after(() => composio.close());
      const s = await served(t, b, {
        config: { composio: { apiKey: "ck_operator", baseURL: composio.url, versions: {} } },
      });
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      // Accounts as Composio holds them once people connected: one of this tenant's user, one of the other's.
      const plant = (id: string, tenantId: string) =>
        composio.accounts.set(id, {
          id,
          user_id: composioUserId(tenantId),
          toolkit: "github",
          auth_config_id: "ac_github",
          status: "ACTIVE",
          callback_url: null,
          token: `gho_${id}`,
          created_at: new Date().toISOString(),
        });
      plant("ca_mine", s.tenantId);
      plant("ca_theirs", other.body.tenant.id);

      const { page, errors } = await signedInPage(t, browser(), s.url, s.key, "/tools");
      const slot = page.locator(".slot", { hasText: "Composio accounts" });
      assert.match((await slot.textContent()) ?? "", /github · active · ca_mine/);
      assert.doesNotMatch((await slot.textContent()) ?? "", /ca_theirs/, "another tenant's account is not shown");
      assert.ok(!(await page.content()).includes("gho_"), "never an account's token");
      await assertAccessible(page, "tools with Composio", b);
      await screenshot(page, `tools-composio-${b.name}`, b);
      await slot.getByRole("button", { name: "Remove the github account ca_mine" }).click();
      await page.waitForURL((u) => u.pathname === "/tools");
      assert.deepEqual([...composio.accounts.keys()], ["ca_theirs"], "deleted at Composio, the other's kept");
      assert.match((await slot.textContent()) ?? "", /None configured/);
      // The other tenant's account through the same form: not this tenant's, so a 404 and nothing deleted.
      const csrf = await page.locator('meta[name="csrf-token"]').getAttribute("content");
      const status = await page.evaluate(
        async (token) =>
          (
            await fetch("/tools/composio/ca_theirs/remove", {
              method: "POST",
              body: new URLSearchParams({ _csrf: token as string }),
            })
          ).status,
        csrf,
      );
      assert.equal(status, 404);
      assert.ok(composio.accounts.has("ca_theirs"));
      assert.deepEqual(errors, []);
    });
  }
});
