// The Tools page's browser profile and search provider, in real Chromium: the sites the tenant's
// browser is signed in to (never a cookie, pages by origin only), forgotten from the page; the
// search provider web_search uses for the tenant, and why it would fail; another tenant sees none.
import assert from "node:assert/strict";
import { test } from "node:test";
import { STATE_SECRET } from "../../src/tools/browser/state.ts";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { assertAccessible, chromiumPath, screenshot, signedInPage, withBrowser } from "../support/dashboard.ts";

const COOKIE = "sess-4f0c9e1b7a2d";
const state = JSON.stringify({
  storage: {
    cookies: [
      {
        name: "sid",
        value: COOKIE,
        domain: ".shop.example",
        path: "/",
        expires: -1,
        httpOnly: true,
        secure: true,
        sameSite: "Lax",
      },
      {
        name: "pref",
        value: "dark",
        domain: "news.example",
        path: "/",
        expires: -1,
        httpOnly: false,
        secure: false,
        sameSite: "Lax",
      },
    ],
    origins: [],
  },
  pages: ["https://shop.example/orders?token=abc123secret"],
  active: 0,
});

withBrowser("dashboard browser profile and search provider", (browser) => {
  for (const b of BACKENDS) {
    test(`the browser profile's sites shown and forgotten; the search provider and why it fails (${b.name})`, async (t) => {
      const s = await served(t, b, { config: { browser: { chromium: chromiumPath, maxContexts: 2, idleMs: 60_000 } } });
      await s.app.vault.put(s.app.tenants.scope(s.tenantId), STATE_SECRET, state);
      await s.call("PATCH", `/v1/tenants/${s.tenantId}`, {
        token: ADMIN,
        body: { settings: { searchProvider: "brave" } },
      });
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });

      const { page, errors } = await signedInPage(t, browser(), s.url, s.key, "/tools");
      const profile = page.locator(".slot", { hasText: "Browser profiles" });
      assert.match(
        (await profile.textContent()) ?? "",
        /default · signed in to news\.example, shop\.example · open: https:\/\/shop\.example/,
      );
      const html = await page.content();
      assert.ok(!html.includes(COOKIE) && !html.includes("abc123secret"), "no cookie value, no URL's query");
      const search = page.locator(".slot", { hasText: "Search providers" });
      assert.match(
        (await search.textContent()) ?? "",
        /brave · the tenant's own, but its vault has no BRAVE_SEARCH_API_KEY: searches fail until it is stored/,
      );
      await assertAccessible(page, "tools", b);
      await screenshot(page, `tools-browser-search-${b.name}`, b);

      // Another tenant has no profile of its own, and cannot forget this one.
      const theirs = await s.call("GET", "/v1/browser/profiles", { token: other.body.apiKey });
      assert.deepEqual(theirs.body, { enabled: true, profiles: [] });
      assert.equal((await s.call("DELETE", "/v1/browser/profiles/default", { token: other.body.apiKey })).status, 404);

      await profile.getByRole("button", { name: /Remove the browser profile default/ }).click();
      await page.waitForURL((u) => u.pathname === "/tools");
      assert.match((await profile.textContent()) ?? "", /None configured/);
      assert.equal(await s.app.vault.get(s.app.tenants.scope(s.tenantId), STATE_SECRET), null);
      assert.deepEqual(errors, []);
    });
  }
});
