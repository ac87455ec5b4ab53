// Acting from the dashboard in real Chromium: approve a tool call and see its run resume, retry a
// failed run and see it complete, pause and resume a recurring job.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FatalError } from "@agentd/kernel";
import type { Browser } from "playwright-core";
import { served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import {
  ARTIFACTS,
  assertAccessible,
  context,
  launch,
  screenshot,
  signIn,
  skipBrowser,
  watchErrors,
} from "../support/dashboard.ts";

describe("dashboard actions", { skip: skipBrowser }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(() => browser?.close());

  for (const b of BACKENDS) {
    test(`approve a tool call and see the run resume; retry a failed run; pause a schedule (${b.name})`, async (t) => {
      const s = await served(t, b);
      const ctx = await context(browser);
      t.after(() => ctx.close());
      const page = await ctx.newPage();
      const errors = watchErrors(page);
      await signIn(page, s.url, s.key);

      // Approve: the turn waits for a person; "Approve once" on the Approvals page wakes it.
      await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } });
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "the door code is blue" } }] });
      const asked = await s.call("POST", "/v1/messages", {
        body: { text: "remember the door code", conversation: "x" },
      });
      const runId = asked.body.runId as string;
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${runId}`)).body.status === "suspended",
        "the run to wait",
      );
      await page.goto(`${s.url}/approvals`);
      const item = page.locator("li.approval");
      assert.match((await item.textContent()) ?? "", /remember/);
      assert.match((await item.textContent()) ?? "", /the door code is blue/);
      await assertAccessible(page, "approvals", b);
      await screenshot(page, `approvals-${b.name}`, b);
      await item.getByRole("button", { name: "Approve once" }).click();
      await page.waitForURL((u) => u.pathname === "/approvals");
      assert.equal(await page.locator("li.approval").count(), 0, "no longer pending");
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${runId}`)).body.status === "completed",
        "the run to resume",
      );
      const stored = await s.call("GET", "/v1/memory");
      assert.deepEqual(
        stored.body.memories.map((m: { content: string }) => m.content),
        ["the door code is blue"],
      );

      // Always allow: the next call of the tool waits too; "Always allow" on the Approvals page runs it
      // and adds an allow rule, so the call after it runs without asking anyone.
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "the gate is green" } }] });
      const again = await s.call("POST", "/v1/messages", { body: { text: "remember the gate", conversation: "x" } });
      const againId = again.body.runId as string;
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${againId}`)).body.status === "suspended",
        "the second run to wait",
      );
      await page.goto(`${s.url}/approvals`);
      await page
        .locator("li.approval", { hasText: "the gate is green" })
        .getByRole("button", { name: "Always allow" })
        .click();
      await page.waitForURL((u) => u.pathname === "/approvals");
      assert.equal(await page.locator("li.approval").count(), 0, "no longer pending");
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${againId}`)).body.status === "completed",
        "the second run to resume",
      );
      const rules = (await s.call("GET", "/v1/policies")).body.policies as { tool: string; decision: string }[];
      assert.ok(
        rules.some((p) => p.tool === "remember" && p.decision === "allow"),
        `an allow rule for remember: ${JSON.stringify(rules)}`,
      );
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "the shed is red" } }] });
      const third = await s.call("POST", "/v1/messages", { body: { text: "remember the shed", conversation: "x" } });
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${third.body.runId}`)).body.status === "completed",
        "the third run to complete without asking",
      );
      assert.equal((await s.call("GET", "/v1/approvals")).body.approvals.length, 0, "nobody was asked");
      const kept = (await s.call("GET", "/v1/memory")).body.memories.map((m: { content: string }) => m.content);
      assert.deepEqual([...kept].sort(), ["the door code is blue", "the gate is green", "the shed is red"]);

      await page.goto(`${s.url}/runs/${runId}`);
      assert.match((await page.locator(".facts").textContent()) ?? "", /completed/);
      assert.ok((await page.locator("svg.timeline g.bar").count()) >= 3, "the steps and the wait as bars");
      assert.ok((await page.locator("svg.timeline g.k-event").count()) >= 1, "the wait for the approval is a bar");
      await page.locator("section.live .live-state", { hasText: "ended" }).waitFor();
      await assertAccessible(page, "run", b);
      await screenshot(page, `run-${b.name}`, b);
      // The README's picture: the run's summary and timeline (copied to docs/dashboard-run.png by hand).
      const top = await page.locator("main").boundingBox();
      const tl = await page.locator("section[aria-labelledby=tl]").boundingBox();
      if (top && tl)
        await page.screenshot({
          path: `${ARTIFACTS}/run-timeline-${b.name}.png`,
          clip: { x: 0, y: 0, width: 1280, height: tl.y + tl.height + 10 },
        });

      // Retry: a turn whose delivery fails for good is a dead letter; once the channel works, retried from the page.
      let broken = true;
      s.app.channels.register({
        channel: "flaky",
        async deliver() {
          if (broken) throw new FatalError("the flaky channel is down");
        },
      });
      const r = await s.app.inbox.receive({ tenantId: s.tenantId, channel: "flaky", conversation: "c", text: "hi" });
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${r.runId}`)).body.status === "failed",
        "the run to fail",
      );
      await page.goto(`${s.url}/runs/failed`);
      assert.match((await page.locator("table.runs").textContent()) ?? "", /flaky channel is down/);
      await assertAccessible(page, "failed runs", b);
      await screenshot(page, `failed-${b.name}`, b);
      broken = false;
      await page.getByLabel(`Select run ${r.runId}`).check();
      await page.getByRole("button", { name: "Retry the selected runs" }).click();
      assert.match((await page.getByRole("status").textContent()) ?? "", /Retried 1 run/);
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${r.runId}`)).body.status === "completed",
        "the retry to complete",
      );
      await page.goto(`${s.url}/runs/${r.runId}`);
      assert.match((await page.locator(".facts").textContent()) ?? "", /completed/);

      // Pause and resume a recurring job from its card.
      const job = await s.call("POST", "/v1/schedules", {
        body: { prompt: "water the plants", cron: "0 9 * * *", timezone: "Europe/Paris" },
      });
      await page.goto(`${s.url}/schedules`);
      const card = page.locator(`#s-${job.body.id}`);
      assert.match(
        (await card.textContent()) ?? "",
        /CET|CEST|GMT\+1|GMT\+2/,
        "next fire times in the job's zone, named",
      );
      await card.getByRole("button", { name: "Pause" }).click();
      await page.waitForURL((u) => u.pathname === "/schedules");
      assert.equal((await s.call("GET", "/v1/schedules")).body.schedules[0].paused, true);
      assert.match((await card.textContent()) ?? "", /paused/);
      await assertAccessible(page, "schedules", b);
      await screenshot(page, `schedules-${b.name}`, b);
      await card.getByRole("button", { name: "Resume" }).click();
      await page.waitForURL((u) => u.pathname === "/schedules");
      assert.equal((await s.call("GET", "/v1/schedules")).body.schedules[0].paused, false);
      assert.deepEqual(errors, []);
    });
  }
});
