// The web chat in real Chromium: a reply streams token by token, and a reload in the middle of it
// resumes the run's stream after the last offset shown (nothing repeated, nothing lost).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { makePdf } from "../media/files.ts";
import { lastUserText } from "../media/support.ts";
import {
  assertAccessible,
  context,
  launch,
  screenshot,
  signIn,
  skipBrowser,
  watchErrors,
} from "../support/dashboard.ts";

const LONG = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");

describe("dashboard web chat", { skip: skipBrowser }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(() => browser?.close());

  for (const b of BACKENDS) {
    test(`a reply streams token by token; a reload mid-reply resumes from its offset; a PDF alone is read (${b.name})`, async (t) => {
      const s = await served(t, b);
      const ctx = await context(browser);
      t.after(() => ctx.close());
      const page = await ctx.newPage();
      const errors = watchErrors(page);
      await signIn(page, s.url, s.key, "/chat");

      // 1. Streams: the bubble shows part of the reply before the reply is whole.
      s.model.script({ text: "Hello there, this reply arrives in small pieces.", tokenDelayMs: 120 });
      await page.getByLabel("Message").fill("hi");
      await page.getByRole("button", { name: "Send" }).click();
      const reply = page.locator("li.m-assistant").last();
      const partials: string[] = [];
      await waitFor(async () => {
        const text = (await reply.locator(".text").textContent()) ?? "";
        if (text && partials.at(-1) !== text) partials.push(text);
        return (await reply.getAttribute("data-done")) === "1";
      }, "the reply to end");
      assert.equal(await reply.locator(".text").textContent(), "Hello there, this reply arrives in small pieces.");
      assert.ok(partials.length >= 3, `seen growing: ${JSON.stringify(partials)}`);
      assert.ok(partials[0] && partials[0].length < 20, "the first piece came before the rest");
      await assertAccessible(page, "chat", b);
      await screenshot(page, `chat-${b.name}`, b);

      // 2. Reload mid-reply: the page resumes the run's stream after the offset it had shown.
      s.model.script({ text: LONG, tokenDelayMs: 80 });
      await page.getByLabel("Message").fill("a long one");
      await page.getByRole("button", { name: "Send" }).click();
      const live = page.locator("li.m-assistant").last();
      await waitFor(async () => ((await live.locator(".text").textContent()) ?? "").length > 40, "part of the reply");
      const streams: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes("/stream")) streams.push(r.url());
      });
      await page.reload();
      const resumed = page.locator("li.m-assistant[data-resumed='1']");
      await resumed.waitFor();
      const shownAtOnce = (await resumed.locator(".text").textContent()) ?? "";
      assert.ok(shownAtOnce.length > 40 && LONG.startsWith(shownAtOnce), `kept what was shown: ${shownAtOnce}`);
      await waitFor(async () => (await resumed.getAttribute("data-done")) === "1", "the resumed reply to end");
      assert.equal(await resumed.locator(".text").textContent(), LONG, "the whole reply, once");
      const from = Number(new URL(streams[0] as string).searchParams.get("from"));
      assert.ok(from > 1, `resumed from offset ${from}, not from the start`);

      // 3. Once done, a reload shows the reply from the transcript (the browser keeps nothing pending).
      await page.reload();
      assert.equal(await page.locator("li.m-assistant[data-resumed='1']").count(), 0);
      assert.equal(await page.locator("li.m-assistant .text").last().textContent(), LONG);

      // 4. A file goes with a message: uploaded as the tenant's blob, named by the message, linked in the transcript.
      const png = Buffer.from(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        "base64",
      );
      await page.getByLabel("Attach files").setInputFiles({ name: "dot.png", mimeType: "image/png", buffer: png });
      await page.getByLabel("Message").fill("what is in this picture?");
      await page.getByRole("button", { name: "Send" }).click();
      await page.locator("li.m-assistant").last().and(page.locator("[data-done='1']")).waitFor();
      const { sessions } = (await s.call("GET", "/v1/sessions")).body;
      const chatSession = sessions.find((x: { conversation: string }) => x.conversation === "dashboard");
      const history = (await s.call("GET", `/v1/sessions/${chatSession.id}/messages`)).body.messages;
      const sent = history.find((m: { content: string }) => m.content === "what is in this picture?");
      assert.equal(sent.attachments?.length, 1, JSON.stringify(sent));
      assert.equal(sent.attachments[0].mime, "image/png");
      assert.equal(sent.attachments[0].size, png.byteLength);
      await page.reload();
      const link = page.getByRole("link", { name: "dot.png" });
      assert.equal(await link.count(), 1);
      const fetched = await page.evaluate(
        async (href) => {
          const r = await fetch(href as string);
          return { status: r.status, size: (await r.arrayBuffer()).byteLength };
        },
        await link.getAttribute("href"),
      );
      assert.deepEqual(fetched, { status: 200, size: png.byteLength });

      // 5. A PDF alone, no text: sent, read before the turn, and the model answers from its text.
      s.model.script({ text: "The invoice total is 1,240 EUR." });
      const pdf = Buffer.from(await makePdf([["Invoice 2026-114", "Total due: 1,240 EUR"]]));
      await page
        .getByLabel("Attach files")
        .setInputFiles({ name: "invoice.pdf", mimeType: "application/pdf", buffer: pdf });
      await page.getByRole("button", { name: "Send" }).click();
      await page.locator("li.m-assistant").last().and(page.locator("[data-done='1']")).waitFor();
      assert.equal(await page.locator("li.m-assistant .text").last().textContent(), "The invoice total is 1,240 EUR.");
      assert.match(
        lastUserText(s.model.requests.at(-1)!.body),
        /<untrusted source="document [^"]+">\n--- page 1 ---\nInvoice 2026-114/,
      );
      assert.deepEqual(errors, []);
    });
  }
});
