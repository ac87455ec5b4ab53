// A run's page in real Chromium, for a run with every kind of bar: a step retried (its attempts and
// its last failed attempt's error), a child run (linked both ways), a sleep, a wait for an event; its
// live stream followed while it runs (no reload); and its input, output and stream with the tenant's
// secret redacted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Workflow, workflow } from "@agentd/kernel";
import { served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { assertAccessible, screenshot, signedInPage, withBrowser } from "../support/dashboard.ts";

const SECRET = "sk-live-7c1e9a44b0d2f8e6";

const child = workflow("demo.child", async (ctx, input: { n: number }) =>
  ctx.step("double", () => ({ doubled: input.n * 2 })),
);

/** A parent whose first step fails twice before it answers, then a child, a sleep and a wait. */
function parent(failures: { left: number }) {
  return workflow(
    "demo.parent",
    async (ctx, input: { token: string }) => {
      const fetched = await ctx.step(
        "fetch",
        (s) => {
          s.publish({ t: "progress", note: `calling with ${input.token}` });
          if (failures.left-- > 0) throw new Error(`upstream answered 503 (${failures.left + 1} failures left)`);
          return { status: 200 };
        },
        { retry: { maxAttempts: 5, initialInterval: 1, backoffFactor: 1, jitter: 0 } },
      );
      const doubled = await ctx.invoke(child as Workflow<{ n: number }, { doubled: number }>, { n: 21 });
      await ctx.sleep("cool down", 5);
      const go = await ctx.waitForEvent<{ by: string }>("go");
      return ctx.step("finish", (s) => {
        s.publish({ t: "text", d: `resumed by ${go?.by} with ${input.token}` });
        return { fetched, doubled, token: input.token };
      });
    },
    { retry: { maxAttempts: 1 } },
  );
}

withBrowser("dashboard run timeline", (browser) => {
  for (const b of BACKENDS) {
    test(`a run's timeline shows retries, a child run, a sleep and a wait; its stream is live; secrets redacted (${b.name})`, async (t) => {
      const s = await served(t, b);
      const wf = parent({ left: 2 });
      s.app.kernel.registry.add(child as Workflow<never, unknown>);
      s.app.kernel.registry.add(wf as Workflow<never, unknown>);
      assert.equal((await s.call("PUT", "/v1/secrets/UPSTREAM_TOKEN", { body: { value: SECRET } })).status, 204);
      const run = await s.app.kernel.start(wf, { token: SECRET }, { namespace: s.tenantId });
      const status = async (id: string) => (await s.call("GET", `/v1/runs/${id}`)).body.status as string;
      await waitFor(async () => (await status(run.id)) === "suspended", "the run to wait for its event");

      const { page, errors } = await signedInPage(t, browser(), s.url, s.key, `/runs/${run.id}`);
      // The timeline: one bar per step, sleep, wait and child; the retried step says how often it ran.
      const bars = page.locator("svg.timeline g.bar");
      assert.deepEqual(await bars.locator("text.label").allTextContents(), [
        "fetch",
        "invoke demo.child",
        "sleep cool down",
        "event go",
      ]);
      assert.equal(await page.locator("svg.timeline g.k-invoke").count(), 1);
      assert.equal(await page.locator("svg.timeline g.k-sleep.s-completed").count(), 1);
      assert.equal(await page.locator("svg.timeline g.k-event.s-waiting").count(), 1, "the wait is open");
      assert.equal(await page.locator("svg.timeline g.k-step text.attempts").textContent(), "×3");
      const fetchTip = (await page.locator("svg.timeline g.k-step title").first().textContent()) ?? "";
      assert.match(fetchTip, /fetch: completed, .*3 attempts.*upstream answered 503 \(1 failures left\)/);
      // The steps table: attempts and the last failed attempt's error; the child linked.
      const fetchRow = page.locator("table tbody tr", { hasText: "fetch" });
      assert.match((await fetchRow.textContent()) ?? "", /3\s*[\s\S]*attempt 2 failed: upstream answered 503/);
      assert.match((await page.locator(".facts").textContent()) ?? "", /Waiting forevent go/);

      // The live stream, followed as it happens: the published progress is there, then the rest
      // arrives without a reload once the event is sent.
      await page.locator("section.live .live-state", { hasText: "Live." }).waitFor();
      await page.locator(".stream-events li", { hasText: "progress" }).first().waitFor();
      await s.app.kernel.sendEvent(run.id, "go", { by: "the test" });
      await page.locator("section.live .live-state", { hasText: "ended" }).waitFor();
      await page.locator("pre.stream", { hasText: "resumed by the test" }).waitFor();
      assert.equal(await page.locator("pre.stream").textContent(), "resumed by the test with [secret]");
      // The stream ends at the reply; the run's own end is stored just after it.
      await waitFor(async () => (await status(run.id)) === "completed", "the run to complete");

      // Secrets: the tenant's secret appears in the input, output and stream of the run, never on the page.
      await page.reload();
      await page.locator("section.live .live-state", { hasText: "ended" }).waitFor();
      const shown = await page.content();
      assert.ok(!shown.includes(SECRET), "the secret is not in the page");
      assert.match((await page.locator("section.io").textContent()) ?? "", /"token": "\[secret\]"[\s\S]*"doubled": 42/);
      // The stream's events are shown as the page replays them: wait (bounded) for the one that quoted the secret.
      await page.locator(".stream-events li", { hasText: "calling with" }).first().waitFor();
      assert.match((await page.locator(".stream-events").textContent()) ?? "", /calling with \[secret\]/);
      assert.match((await page.locator(".facts").textContent()) ?? "", /completed/);
      await assertAccessible(page, "run timeline", b);
      await screenshot(page, `run-timeline-kinds-${b.name}`, b);

      // The child run: its bar's row links to it, and its page links back to the parent.
      await page.locator("table tbody tr", { hasText: "demo.child" }).getByRole("link").click();
      await page.waitForURL((u) => u.pathname.startsWith("/runs/") && !u.pathname.endsWith(run.id));
      assert.match((await page.locator(".facts").textContent()) ?? "", /demo\.child/);
      await page.locator(".facts").getByRole("link").click();
      await page.waitForURL((u) => u.pathname === `/runs/${run.id}`);
      assert.deepEqual(errors, []);
    });
  }
});
