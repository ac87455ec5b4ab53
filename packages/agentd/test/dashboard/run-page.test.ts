// Acting from a run's own page and from the memory list, in real Chromium: cancel a run that waits
// for a person (its approval is withdrawn), retry a failed run and see it complete, delete a memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FatalError } from "@agentd/kernel";
import { served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { assertAccessible, screenshot, signedInPage, withBrowser } from "../support/dashboard.ts";

withBrowser("dashboard run page and memory", (browser) => {
  for (const b of BACKENDS) {
    test(`cancel and retry from a run's page; delete a memory (${b.name})`, async (t) => {
      const s = await served(t, b);
      const { page, errors } = await signedInPage(t, browser(), s.url, s.key);
      const status = async (id: string) => (await s.call("GET", `/v1/runs/${id}`)).body.status as string;

      // Cancel: a turn waiting for an approval; Cancel on its page ends it and withdraws the approval.
      await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } });
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "not to be kept" } }] });
      const asked = await s.call("POST", "/v1/messages", { body: { text: "remember it", conversation: "c" } });
      const waiting = asked.body.runId as string;
      await waitFor(async () => (await status(waiting)) === "suspended", "the run to wait");
      await page.goto(`${s.url}/runs/${waiting}`);
      assert.equal(await page.getByRole("button", { name: "Retry" }).count(), 0, "a live run has no Retry");
      await page.getByRole("button", { name: "Cancel" }).click();
      await page.waitForURL((u) => u.pathname === `/runs/${waiting}`);
      assert.equal(await status(waiting), "cancelled");
      assert.match((await page.locator(".facts").textContent()) ?? "", /cancelled/);
      assert.equal(await page.getByRole("button", { name: "Cancel" }).count(), 0, "an ended run has no Cancel");
      assert.equal((await s.call("GET", "/v1/approvals")).body.approvals.length, 0, "nothing waits any more");
      assert.equal((await s.call("GET", "/v1/memory")).body.memories.length, 0, "the tool never ran");

      // Retry: a turn whose delivery failed for good; once the channel works, Retry on its page completes it.
      let broken = true;
      const delivered: string[] = [];
      s.app.channels.register({
        channel: "flaky",
        async deliver(d) {
          if (broken) throw new FatalError("the flaky channel is down");
          delivered.push(d.text);
        },
      });
      const r = await s.app.inbox.receive({ tenantId: s.tenantId, channel: "flaky", conversation: "f", text: "hi" });
      await waitFor(async () => (await status(r.runId)) === "failed", "the run to fail");
      await page.goto(`${s.url}/runs/${r.runId}`);
      assert.match((await page.getByRole("region", { name: "Error" }).textContent()) ?? "", /flaky channel is down/);
      await assertAccessible(page, "failed run", b);
      await screenshot(page, `run-failed-${b.name}`, b);
      broken = false;
      await page.getByRole("button", { name: "Retry" }).click();
      await page.waitForURL((u) => u.pathname === `/runs/${r.runId}`);
      await waitFor(async () => (await status(r.runId)) === "completed", "the retry to complete");
      assert.deepEqual(delivered, ["ok: hi"], "the reply went out once, after the retry");
      await page.reload();
      assert.match((await page.locator(".facts").textContent()) ?? "", /completed/);
      assert.equal(await page.getByRole("button", { name: "Retry" }).count(), 0);

      // Memory: search finds it, Delete forgets it (and only it).
      for (const content of ["likes green tea", "lives in Lyon"])
        assert.equal((await s.call("POST", "/v1/memory", { body: { content } })).status, 201);
      await page.goto(`${s.url}/memory?q=tea`);
      assert.equal(await page.locator("ul.memories li").count(), 1);
      await page.getByRole("button", { name: "Delete this memory" }).click();
      await page.waitForURL((u) => u.pathname === "/memory");
      const left = (await s.call("GET", "/v1/memory")).body.memories.map((m: { content: string }) => m.content);
      assert.deepEqual(left, ["lives in Lyon"]);
      assert.equal(await page.locator("ul.memories li").count(), 1);
      assert.match((await page.locator("ul.memories").textContent()) ?? "", /Lyon/);
      assert.deepEqual(errors, []);
    });
  }
});
