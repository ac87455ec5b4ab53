// Every view of the dashboard in real Chromium, as the operator and as a tenant, on a desk and a
// phone: no serious accessibility violation (axe-core), no script or CSP error, a screenshot each.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import {
  assertAccessible,
  context,
  launch,
  screenshot,
  signIn,
  skipBrowser,
  watchErrors,
} from "../support/dashboard.ts";

const VIEWS = ["/", "/runs", "/runs/failed", "/approvals", "/schedules", "/chat", "/sessions", "/memory", "/tools"];
const PHONE = ["/", "/runs", "/approvals", "/chat"];

describe("dashboard views", { skip: skipBrowser }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(() => browser?.close());

  for (const b of BACKENDS) {
    test(`each view as the operator and as a tenant, desk and phone: accessible, no errors (${b.name})`, async (t) => {
      const s = await served(t, b);
      const done = await s.call("POST", "/v1/messages", { body: { text: "hello", conversation: "a" } });
      await s.app.kernel.result(done.body.runId);
      await s.call("POST", "/v1/memory", { body: { content: "likes green tea" } });
      await s.call("POST", "/v1/schedules", { body: { prompt: "stand up", cron: "0 10 * * 1-5" } });

      const visit = async (page: Page, who: string, path: string, size: string) => {
        const res = await page.goto(`${s.url}${path}`);
        assert.equal(res?.status(), 200, `${who} ${path}`);
        await assertAccessible(page, `${who} ${path} (${size})`, b);
        const name = path === "/" ? "overview" : path.slice(1).replaceAll("/", "-");
        await screenshot(page, `${name}-${who}-${size}-${b.name}`, b);
      };

      for (const size of ["desk", "phone"] as const) {
        const ctx = await context(browser, size);
        t.after(() => ctx.close());
        const page = await ctx.newPage();
        const errors = watchErrors(page);
        await signIn(page, s.url, s.key);
        // Every view on a desk; on a phone the ones a person uses there (each axe pass costs seconds).
        for (const path of size === "desk" ? VIEWS : PHONE) await visit(page, "tenant", path, size);
        // On a phone the page fits its width: nothing scrolls sideways but the wide tables' own boxes.
        if (size === "phone") {
          await page.goto(`${s.url}/runs`);
          const wide = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1");
          assert.equal(wide, false, "the runs page fits a phone's width");
        }
        assert.deepEqual(errors, [], `${size}: no script or CSP error`);
      }

      const ctx = await context(browser);
      t.after(() => ctx.close());
      const page = await ctx.newPage();
      const errors = watchErrors(page);
      await signIn(page, s.url, ADMIN);
      for (const path of [...VIEWS, "/tenants", `/tenants/${s.tenantId}`]) await visit(page, "admin", path, "desk");
      await page.goto(`${s.url}/`);
      assert.match((await page.locator("#h-workers").textContent()) ?? "", /Workers \(1 live\)/);
      // Tools: a slot per kind of connection, filled from its route, or saying the route is not there yet.
      await page.goto(`${s.url}/tools`);
      const slots = (await page.locator(".slot").allTextContents()).join("\n");
      assert.match(slots, /SSH hosts\s*None configured/);
      assert.match(slots, /MCP servers/);
      assert.match(slots, /Browser profiles\s*(None configured|The browser tools are off)/);
      assert.match(slots, /Search providers\s*Web search is off/);
      // Every kind of tool and connection has its route in this agentd: no slot waits for one.
      assert.doesNotMatch(slots, /Not in this version/);

      // Keyboard: the first Tab reaches "Skip to content", which moves focus past the navigation.
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate("document.activeElement?.textContent"), "Skip to content");
      await page.keyboard.press("Enter");
      // The link's navigation lands after the key's events: wait for it (bounded), then check where it went.
      await page.waitForFunction("location.hash !== ''", undefined, { timeout: 5_000 }).catch(() => {});
      assert.equal(new URL(page.url()).hash, "#main");
      // Times are shown in the viewer's zone (Europe/Paris here), with the zone named.
      await page.goto(`${s.url}/runs`);
      assert.match((await page.locator("table.runs time").first().textContent()) ?? "", /CET|CEST/);

      // Settings are checked by the API: a wrong one is refused with the reason and nothing changes.
      await page.goto(`${s.url}/tenants/${s.tenantId}`);
      await page.getByLabel("Settings (JSON)").fill('{"timezone": "Mars/Olympus"}');
      await page.getByRole("button", { name: "Save settings" }).click();
      assert.match((await page.getByRole("alert").textContent()) ?? "", /timezone/i);
      const tenant = await s.call("GET", `/v1/tenants/${s.tenantId}`, { token: ADMIN });
      assert.notEqual(tenant.body.settings.timezone, "Mars/Olympus");
      assert.deepEqual(
        errors.filter((e) => !e.startsWith("400 POST")),
        [],
      );
    });
  }
});
