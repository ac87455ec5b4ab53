// The dashboard's sign-in, session cookie, CSRF token and tenant boundary, in real Chromium.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { context, launch, screenshot, signIn, skipBrowser, watchErrors } from "../support/dashboard.ts";

describe("dashboard sign-in and the tenant boundary", { skip: skipBrowser }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(() => browser?.close());

  for (const b of BACKENDS) {
    test(`a tenant key signs in to a session cookie; another tenant's run is a 404; no CSRF token, no change (${b.name})`, async (t) => {
      const s = await served(t, b);
      const mine = await s.call("POST", "/v1/messages", { body: { text: "hello", conversation: "a" } });
      await s.app.kernel.result(mine.body.runId);
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      const theirs = await s.call("POST", "/v1/messages", {
        token: other.body.apiKey,
        body: { text: "theirs", conversation: "b" },
      });
      await s.app.kernel.result(theirs.body.runId);

      const ctx = await context(browser);
      t.after(() => ctx.close());
      const page = await ctx.newPage();
      const errors = watchErrors(page);

      // Without a session every page sends the browser to the sign-in form, and back after it.
      await page.goto(`${s.url}/runs`);
      assert.equal(new URL(page.url()).pathname, "/login");
      await page.getByLabel("Token").fill("ak_wrong");
      await page.getByRole("button", { name: "Sign in" }).click();
      assert.match(
        (await page.getByRole("alert").textContent()) ?? "",
        /neither the admin token nor a current API key/,
      );
      await signIn(page, s.url, s.key, "/runs");
      const res = await page.goto(`${s.url}/runs`);
      const csp = res?.headers()["content-security-policy"] ?? "";
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      const [cookie] = await ctx.cookies();
      assert.equal(cookie?.name, "agentd_session");
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, "Strict");
      assert.ok(!cookie?.value.includes(s.key.slice(3, 12)), "the cookie is not the key");
      assert.equal(await page.locator(`a[href="/runs/${mine.body.runId}"]`).count(), 1);
      assert.equal(await page.locator(`a[href="/runs/${theirs.body.runId}"]`).count(), 0);
      await screenshot(page, `runs-${b.name}`, b);

      // The other tenant's run: the page and the API both answer 404, exactly like a missing run.
      const theirPage = await page.goto(`${s.url}/runs/${theirs.body.runId}`);
      assert.equal(theirPage?.status(), 404);
      const api = await page.evaluate(async (id) => (await fetch(`/v1/runs/${id}`)).status, theirs.body.runId);
      assert.equal(api, 404);
      const mineApi = await page.evaluate(async (id) => (await fetch(`/v1/runs/${id}`)).status, mine.body.runId);
      assert.equal(mineApi, 200, "the session cookie reaches the API");

      // A mutation with the cookie but without the CSRF token is refused (403), with it it is done.
      const csrf = await page.locator('meta[name="csrf-token"]').getAttribute("content");
      const bare = await page.evaluate(async () => {
        const r = await fetch("/v1/memory", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ content: "not without the token" }),
        });
        return { status: r.status, body: (await r.json()) as { error: { message: string } } };
      });
      assert.equal(bare.status, 403);
      assert.match(bare.body.error.message, /CSRF token/);
      const wrong = await page.evaluate(async () => {
        const r = await fetch("/v1/memory", {
          method: "POST",
          headers: { "content-type": "application/json", "x-csrf-token": "guess" },
          body: JSON.stringify({ content: "nor with a guess" }),
        });
        return r.status;
      });
      assert.equal(wrong, 403);
      assert.equal((await s.call("GET", "/v1/memory")).body.memories.length, 0, "nothing was stored");
      const good = await page.evaluate(async (token) => {
        const r = await fetch("/v1/memory", {
          method: "POST",
          headers: { "content-type": "application/json", "x-csrf-token": token as string },
          body: JSON.stringify({ content: "with the token" }),
        });
        return r.status;
      }, csrf);
      assert.equal(good, 201);
      // A form posted without its _csrf field is refused too.
      const formRefused = await page.evaluate(async (id) => {
        const r = await fetch(`/runs/${id}/cancel`, { method: "POST", body: new URLSearchParams({}) });
        return r.status;
      }, mine.body.runId);
      assert.equal(formRefused, 403);

      // Signing out ends the session on the server: the old cookie no longer reaches the API.
      const old = (await ctx.cookies())[0]?.value as string;
      await page.goto(`${s.url}/`);
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL((u) => u.pathname === "/login");
      const replay = await fetch(`${s.url}/v1/runs`, { headers: { cookie: `agentd_session=${old}` } });
      assert.equal(replay.status, 401);
      assert.deepEqual(errors, [], "no script or CSP error in the pages");
    });

    test(`the admin token signs in for every tenant; a tenant's usage and a new pairing code on its page; a revoked key ends its sessions (${b.name})`, async (t) => {
      const s = await served(t, b);
      const ctx = await context(browser);
      t.after(() => ctx.close());
      const page = await ctx.newPage();
      await signIn(page, s.url, ADMIN);
      assert.equal(await page.getByRole("link", { name: "Tenants" }).count(), 1);
      await page.goto(`${s.url}/tenants`);
      await page.getByRole("link", { name: "test" }).click();
      await page.getByRole("button", { name: "New API key" }).click();
      const key = /ak_[\w-]+/.exec((await page.getByRole("status").textContent()) ?? "")?.[0] as string;
      assert.ok(key, "the new key is shown once");
      // The tenant's usage per day, as its turns spent it.
      const done = await s.call("POST", "/v1/messages", { body: { text: "hello", conversation: "u" } });
      await s.app.kernel.result(done.body.runId);
      const usage = (await s.call("GET", "/v1/usage")).body;
      await page.reload();
      assert.match(
        (await page.locator("#h-usage + p").textContent()) ?? "",
        new RegExp(
          `^Today \\(UTC\\): ${usage.today.tokens.toLocaleString("en")} tokens in 1 model calls, no daily budget\\.$`,
        ),
      );
      assert.equal(await page.locator("table.usage tbody tr").count(), 1);
      // A pairing code for a person to send to the bot; it pairs them once.
      await page.getByRole("button", { name: "New pairing code" }).click();
      const code = /Pairing code (\S+) \(send \/start \1 to the bot\)/.exec(
        (await page.getByRole("status").textContent()) ?? "",
      )?.[1];
      assert.ok(code, "the code is shown");
      assert.equal(await s.app.tenants.redeemPairingCode(code as string, "telegram", "4242"), s.tenantId);
      assert.equal(await s.app.tenants.tenantOf("telegram", "4242"), s.tenantId, "the person is this tenant's");

      const tenantCtx = await context(browser);
      t.after(() => tenantCtx.close());
      const tp = await tenantCtx.newPage();
      await signIn(tp, s.url, key);
      assert.equal(await tp.getByRole("link", { name: "Tenants" }).count(), 0, "a tenant has no tenants page");
      assert.equal((await tp.goto(`${s.url}/tenants`))?.status(), 403);

      const keys = await s.call("GET", `/v1/tenants/${s.tenantId}/keys`, { token: ADMIN });
      const id = keys.body.keys.find((k: { prefix: string }) => key.startsWith(k.prefix) && k.prefix.length > 3)?.id;
      await page.goto(`${s.url}/tenants/${s.tenantId}`);
      await page.locator(`form:has(input[value="${id}"]) button`).click();
      await tp.goto(`${s.url}/runs`);
      assert.equal(new URL(tp.url()).pathname, "/login", "the revoked key's session has ended");
    });
  }
});
