// The operator's views in real Chromium: the model's reachability on the overview, every tenant's
// runs in one list (paged, each row naming its tenant, a run opened as its tenant), and on a
// tenant's page identities bound and unbound and the tenant's own Telegram bot added and removed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FatalError } from "@agentd/kernel";
import { ADMIN, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { assertAccessible, screenshot, signedInPage, withBrowser } from "../support/dashboard.ts";
import { TOKEN_A, telegramBotsRig } from "../support/telegram-bots-rig.ts";

withBrowser("dashboard operator views", (browser) => {
  for (const b of BACKENDS) {
    test(`model reachability, every tenant's runs, identities and a tenant's bot (${b.name})`, async (t) => {
      const rig = await telegramBotsRig(t, b);
      const { app, tenantId } = rig;
      // 52 turns, half of each tenant: more than one page of the operator's list (50 a page). Sent
      // ten at a time: a tenant runs at most 20 at once (its concurrentRuns setting).
      const owner = new Map<string, string>();
      for (let batch = 0; batch < 52; batch += 10) {
        const sent = await Promise.all(
          Array.from({ length: Math.min(10, 52 - batch) }, (_, j) =>
            rig.call("POST", "/v1/messages", {
              key: (batch + j) % 2 ? rig.keyB : rig.keyA,
              body: { text: `hello ${batch + j}`, conversation: `c${batch + j}` },
            }),
          ),
        );
        for (const [j, s] of sent.entries()) {
          assert.equal(s.status, 202, s.text);
          owner.set(s.body.runId, (batch + j) % 2 ? "other" : "test");
          await app.kernel.result(s.body.runId);
        }
      }

      const { page, errors } = await signedInPage(t, browser(), rig.server.url, ADMIN);

      // The model, checked without spending a call: the test agentd asks for "stand-in", which its endpoint does not list.
      const modelLine = page.locator("p.model");
      assert.match(
        (await modelLine.textContent()) ?? "",
        /Model: stand-in at http:\/\/127\.0\.0\.1:\d+\/v1\s+model not listed/,
      );
      assert.match((await page.locator("p.model-detail").textContent()) ?? "", /does not list stand-in/);
      assert.ok(
        rig.model.requests.some((r) => r.path === "/v1/models"),
        "the endpoint's model list was asked",
      );
      await assertAccessible(page, "overview (operator)", b);
      await screenshot(page, `overview-operator-${b.name}`, b);

      // Tools: Composio's and webhooks' slots say what they hold, or why there is nothing.
      await page.goto(`${rig.server.url}/tools`);
      const slots = (await page.locator(".slot").allTextContents()).join("\n");
      assert.match(
        slots,
        /Composio accounts\s*Composio is off for this tenant: the operator sets AGENTD_COMPOSIO_API_KEY/,
      );
      assert.match(slots, /Webhooks\s*(Not in this version of agentd yet|None configured)/);

      // Every tenant's runs: a page of 50, then the older ones; each row names its tenant.
      await page.goto(`${rig.server.url}/runs`);
      await page.getByLabel("Tenants").selectOption("1");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL((u) => u.searchParams.get("all") === "1");
      const rowsOf = async () =>
        page.locator("table.runs tbody tr").evaluateAll((trs) =>
          trs.map((tr) => ({
            id: (tr.querySelector("a")?.getAttribute("title") ?? "") as string,
            tenant: (tr.children[1]?.textContent ?? "").trim(),
          })),
        );
      const first = await rowsOf();
      assert.equal(first.length, 50);
      await assertAccessible(page, "runs of every tenant", b);
      await screenshot(page, `runs-all-tenants-${b.name}`, b);
      await page.getByRole("link", { name: "Older runs →" }).click();
      const second = await rowsOf();
      const seen = [...first, ...second];
      assert.equal(new Set(seen.map((r) => r.id)).size, 52, "every run once over the two pages");
      for (const r of seen) assert.equal(r.tenant, owner.get(r.id), `run ${r.id}'s tenant`);

      // A run of the other tenant opens as that tenant (the picker follows).
      const theirs = first.find((r) => r.tenant === "other") as { id: string };
      await page.goBack();
      await page.locator(`a[title="${theirs.id}"]`).click();
      await page.waitForURL((u) => u.pathname === `/runs/${theirs.id}`);
      assert.match((await page.locator(".facts").textContent()) ?? "", /completed/);
      assert.equal(await page.locator("#tenant-pick").inputValue(), rig.other.id);

      // The operator pastes a run id of the other tenant while acting for this one: it opens as its tenant.
      await page.goto(`${rig.server.url}/tenant?id=${tenantId}`);
      await page.goto(`${rig.server.url}/runs`);
      await page.getByLabel("Run id or key").fill(theirs.id);
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL((u) => u.pathname === `/runs/${theirs.id}`);
      assert.equal(await page.locator("#tenant-pick").inputValue(), rig.other.id);

      // Identities: bind, refused when bound elsewhere (unless moved), unbind.
      await page.goto(`${rig.server.url}/tenants/${tenantId}`);
      const bind = page.getByRole("form", { name: "Bind an identity" });
      await bind.getByLabel("Channel", { exact: true }).fill("telegram");
      await bind.getByLabel("Id on that channel").fill("777");
      await bind.getByLabel("Name", { exact: true }).fill("Carol");
      await bind.getByRole("button", { name: "Bind" }).click();
      assert.match((await page.getByRole("status").textContent()) ?? "", /Bound telegram: 777/);
      assert.match((await page.locator("ul.identities").textContent()) ?? "", /telegram: 777 Carol/);
      await page.goto(`${rig.server.url}/tenants/${rig.other.id}`);
      await bind.getByLabel("Channel", { exact: true }).fill("telegram");
      await bind.getByLabel("Id on that channel").fill("777");
      await bind.getByRole("button", { name: "Bind" }).click();
      assert.match((await page.getByRole("alert").textContent()) ?? "", /bound to tenant .*unbind it there first/);
      assert.equal(await app.tenants.tenantOf("telegram", "777"), tenantId, "nothing moved");
      await page.goto(`${rig.server.url}/tenants/${tenantId}`);
      await page.getByRole("button", { name: "Unbind telegram 777" }).click();
      assert.match((await page.getByRole("status").textContent()) ?? "", /Unbound telegram: 777/);
      assert.equal(await app.tenants.tenantOf("telegram", "777"), null);

      // The tenant's own bot: a wrong token is refused with the reason; a good one is added (token
      // never shown again), then removed.
      const add = page.getByRole("form", { name: "Add a Telegram bot" });
      await add.getByLabel("Token from BotFather").fill("999999:WRONGtokenNOTknown-xxxxxxxx");
      await add.getByRole("button", { name: "Add bot" }).click();
      assert.match((await page.getByRole("alert").textContent()) ?? "", /Telegram refused the token/);
      await add.getByLabel("Token from BotFather").fill(TOKEN_A);
      await add.getByRole("button", { name: "Add bot" }).click();
      assert.match((await page.getByRole("status").textContent()) ?? "", /Bot @agentd_test_bot added \(webhook\)/);
      assert.match((await page.locator("ul.bots").textContent()) ?? "", /@agentd_test_bot · webhook/);
      assert.ok(!(await page.content()).includes(TOKEN_A), "the token is not in the page");
      const bots = await rig.call("GET", "/v1/channels/telegram");
      assert.equal(bots.body.bots.length, 1);
      await assertAccessible(page, "tenant page", b);
      await screenshot(page, `tenant-${b.name}`, b);
      await page.getByRole("button", { name: "Remove bot @agentd_test_bot" }).click();
      assert.match((await page.getByRole("status").textContent()) ?? "", /Bot removed/);
      assert.equal((await rig.call("GET", "/v1/channels/telegram")).body.bots.length, 0);
      // Every tenant's dead letters at once: one failed turn of each tenant, retried together as their tenants.
      let broken = true;
      app.channels.register({
        channel: "flaky",
        async deliver() {
          if (broken) throw new FatalError("the flaky channel is down");
        },
      });
      const failed = await Promise.all(
        [tenantId, rig.other.id].map((id) =>
          app.inbox.receive({ tenantId: id, channel: "flaky", conversation: "f", text: "hi" }),
        ),
      );
      const statusOf = async (runId: string) => (await app.kernel.getRun(runId))?.status;
      for (const f of failed) await waitFor(async () => (await statusOf(f.runId)) === "failed", "the run to fail");
      await page.goto(`${rig.server.url}/runs/failed`);
      await page.getByRole("link", { name: "Every tenant's failed runs" }).click();
      const table = (await page.locator("table.runs").textContent()) ?? "";
      assert.match(table, /test/);
      assert.match(table, /other/);
      await assertAccessible(page, "failed runs of every tenant", b);
      broken = false;
      for (const f of failed) await page.getByLabel(`Select run ${f.runId}`).check();
      await page.getByRole("button", { name: "Retry the selected runs" }).click();
      assert.match((await page.getByRole("status").textContent()) ?? "", /Retried 2 run/);
      for (const f of failed) await waitFor(async () => (await statusOf(f.runId)) === "completed", "the retry");

      assert.deepEqual(
        errors.filter((e) => !/^400 POST .*\/tenants\//.test(e)),
        [],
        "no script or CSP error (the refusals are the test's own)",
      );
    });
  }
});
