// The overview and the schedules in real Chromium, on the kernel's fake clock: what the overview
// says is counted from what happened (runs by status per hour, throughput, failures, what waits,
// tokens against the budget, workers and their versions, queue depth, channel health); a recurring
// job's ticks list each skipped tick with its reason, and Delete removes the job.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, FatalError } from "@agentd/kernel";
import { ADMIN, served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { assertAccessible, screenshot, signedInPage, withBrowser } from "../support/dashboard.ts";

const HOUR = 3_600_000;

withBrowser("dashboard overview and schedules", (browser) => {
  for (const b of BACKENDS) {
    test(`the overview counts runs, failures, tokens and channels; a schedule's skipped ticks say why (${b.name})`, async (t) => {
      const clock = new FakeClock(Date.UTC(2026, 11, 7, 9, 30));
      const s = await served(t, b, { clock, tenantSettings: { dailyTokenBudget: 10_000 } });
      const status = async (id: string) => (await s.call("GET", `/v1/runs/${id}`)).body.status as string;

      // The operator's overview: workers and the versions they run, the queue, each channel's health
      // (first: the fake clock's jumps leave a worker's heartbeat behind).
      s.app.health.add("telegram", () => ({ ok: true, detail: "polling: the Bot API answered" }));
      s.app.health.add("whatsapp", () => ({ ok: false, detail: "the Graph API refused the access token" }));
      const admin = await signedInPage(t, browser(), s.url, ADMIN);
      const ap = admin.page;
      assert.match((await ap.locator("#h-workers").textContent()) ?? "", /Workers \(1 live\)/);
      assert.match((await ap.locator("#h-workers + ul").textContent()) ?? "", /workflows · version 1 · up since/);
      assert.match((await ap.locator("#h-health").locator("..").textContent()) ?? "", /queue depth, all tenants\): 0/);
      const channels = (await ap.locator("#h-ch + ul").textContent()) ?? "";
      assert.match(channels, /up telegram — polling: the Bot API answered/);
      assert.match(channels, /down whatsapp — the Graph API refused the access token/);
      assert.match((await ap.locator("#h-health + p").textContent()) ?? "", /^degraded/);
      await screenshot(ap, `overview-channels-${b.name}`, b);
      assert.deepEqual(admin.errors, []);

      // Two turns this hour, one the hour after, and one that fails for good (its channel is down).
      const turn = async (text: string) => {
        const sent = await s.call("POST", "/v1/messages", { body: { text, conversation: text } });
        await s.app.kernel.result(sent.body.runId);
      };
      await turn("one");
      await turn("two");
      await clock.advance(HOUR);
      await turn("three");
      s.app.channels.register({
        channel: "flaky",
        async deliver() {
          throw new FatalError("the flaky channel is down");
        },
      });
      const failed = await s.app.inbox.receive({
        tenantId: s.tenantId,
        channel: "flaky",
        conversation: "f",
        text: "x",
      });
      await waitFor(async () => (await status(failed.runId)) === "failed", "the run to fail");
      const usage = (await s.call("GET", "/v1/usage")).body;
      assert.ok(usage.today.tokens > 0, JSON.stringify(usage));

      const { page, errors } = await signedInPage(t, browser(), s.url, s.key);
      const runs = (await page.locator("#h-runs + p").textContent()) ?? "";
      assert.match(runs, /^4 runs: 3 completed \(0\.1 an hour\), 1 failed\.$/);
      // Stacked bars per hour: the earlier hour holds two completed runs, the latest one completed and one failed.
      const bars = await page
        .locator("svg.chart rect")
        .evaluateAll((rs) => rs.map((r) => `${r.getAttribute("x")} ${r.querySelector("title")?.textContent}`));
      assert.equal(bars.length, 3, JSON.stringify(bars));
      assert.deepEqual(
        bars.map((x) => x.split(" ").slice(1).join(" ")),
        ["2 completed", "1 completed", "1 failed"],
      );
      const tokens = (await page.locator("#h-tok + p").textContent()) ?? "";
      assert.equal(
        tokens,
        `${usage.today.tokens.toLocaleString("en")} tokens, ${usage.today.modelCalls} model calls of a daily budget of 10,000`,
      );
      const share = Math.round((usage.today.tokens / 10_000) * 100);
      assert.equal(await page.locator("meter").getAttribute("value"), String(share));
      assert.match(
        (await page.locator("#h-wait").locator("..").textContent()) ?? "",
        /0 pending runs and 0 suspended of the last day/,
      );
      await assertAccessible(page, "overview (tenant)", b);
      await screenshot(page, `overview-counts-${b.name}`, b);

      // A recurring job: its tick at 11:00 starts a run; paused for two ticks, then resumed: those
      // ticks are listed as skipped, with why.
      const job = await s.call("POST", "/v1/schedules", {
        body: { prompt: "water the plants", cron: "0 * * * *", timezone: "UTC" },
      });
      await clock.advance(HOUR);
      await waitFor(
        async () =>
          (await s.call("GET", `/v1/schedules/${job.body.id}/ticks`)).body.ticks.some(
            (x: { status: string }) => x.status === "started",
          ),
        "the 11:00 tick",
      );
      await page.goto(`${s.url}/schedules`);
      const card = page.locator(`#s-${job.body.id}`);
      await card.getByRole("button", { name: "Pause" }).click();
      await page.waitForURL((u) => u.pathname === "/schedules");
      await clock.advance(2 * HOUR);
      await card.getByRole("button", { name: "Resume" }).click();
      await page.waitForURL((u) => u.pathname === "/schedules");
      await card.locator("summary", { hasText: "Latest ticks" }).click();
      const rows = await card.locator("tbody tr").allTextContents();
      assert.ok(
        rows.some((r) => /skipped: 2 ticks from 2026-12-07T12:00:00\.000Z fell while the schedule was paused/.test(r)),
        JSON.stringify(rows),
      );
      const started = card.locator("tbody tr", { hasText: "started" });
      assert.equal(await started.count(), 1);
      await assertAccessible(page, "schedules with ticks", b);
      await screenshot(page, `schedules-ticks-${b.name}`, b);
      await started.getByRole("link", { name: "open" }).click();
      await page.waitForURL((u) => u.pathname.startsWith("/runs/"));
      assert.match((await page.locator(".facts").textContent()) ?? "", /agent\.recurring|agent\.turn/);

      // Delete: the job is gone from the page and from the API.
      await page.goto(`${s.url}/schedules`);
      await card.getByRole("button", { name: "Delete" }).click();
      await page.waitForURL((u) => u.pathname === "/schedules");
      assert.equal(await card.count(), 0);
      assert.deepEqual((await s.call("GET", "/v1/schedules")).body.schedules, []);
      assert.deepEqual(errors, []);
    });
  }
});
