// The web chat's inline approvals and a transcript's files, in real Chromium: a tool call that asks
// a person is decided in the reply itself and the reply carries on; the operator, acting for a
// tenant, opens a file of that tenant's transcript (the link failed for the admin session before).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { assertAccessible, screenshot, signedInPage, withBrowser } from "../support/dashboard.ts";

withBrowser("dashboard chat approvals and files", (browser) => {
  for (const b of BACKENDS) {
    test(`a tool call approved inline in the chat resumes the reply; the operator opens a transcript's file (${b.name})`, async (t) => {
      const s = await served(t, b);
      const { page, errors } = await signedInPage(t, browser(), s.url, s.key, "/chat");

      // The turn asks before `remember`: the buttons come in the reply's bubble, bound to that call.
      await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } });
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "the gate code is 4711" } }] });
      await page.getByLabel("Message").fill("remember the gate code");
      await page.getByRole("button", { name: "Send" }).click();
      const reply = page.locator("li.m-assistant").last();
      const decide = reply.locator(".decide");
      await decide.getByRole("button", { name: "Approve once" }).waitFor();
      assert.match((await decide.textContent()) ?? "", /remember wants: .*the gate code is 4711/);
      const pending = (await s.call("GET", "/v1/approvals")).body.approvals;
      assert.equal(pending.length, 1, "one call waits");
      await assertAccessible(page, "chat with an approval", b);
      await screenshot(page, `chat-approval-${b.name}`, b);
      await decide.getByRole("button", { name: "Approve once" }).click();
      await reply.and(page.locator("[data-done='1']")).waitFor();
      assert.match((await reply.textContent()) ?? "", /Decided: approved/);
      // The tool call itself, inline in the reply once it runs.
      assert.match((await reply.locator(".tool").textContent()) ?? "", /^tool remember: .*the gate code is 4711/);
      assert.match((await reply.locator(".text").textContent()) ?? "", /^ok: remember the gate code/);
      const memories = (await s.call("GET", "/v1/memory")).body.memories.map((m: { content: string }) => m.content);
      assert.deepEqual(memories, ["the gate code is 4711"]);

      // A denial from the chat: the tool does not run, and the reply still ends.
      s.model.script({ toolCalls: [{ name: "remember", arguments: { content: "never this" } }] });
      await page.getByLabel("Message").fill("remember something else");
      await page.getByRole("button", { name: "Send" }).click();
      const second = page.locator("li.m-assistant").last();
      await second.locator(".decide").getByRole("button", { name: "Deny" }).click();
      await second.and(page.locator("[data-done='1']")).waitFor();
      assert.match((await second.textContent()) ?? "", /Decided: denied/);
      assert.equal((await s.call("GET", "/v1/memory")).body.memories.length, 1, "the denied call stored nothing");
      assert.deepEqual(errors, []);

      // A file the tenant sent with a message, opened from the transcript by the operator acting for it.
      const up = await s.call("POST", "/v1/blobs?name=notes.txt", {
        raw: "the file's own words",
        headers: { "content-type": "text/plain" },
      });
      assert.equal(up.status, 201, up.text);
      const sent = await s.call("POST", "/v1/messages", {
        body: { text: "here is the file", conversation: "files", attachments: [up.body.id] },
      });
      await s.app.kernel.result(sent.body.runId);
      // A voice note's transcript, kept with its message when it came, shown under its file.
      const voice = await s.app.blobs.put(s.tenantId, new Uint8Array([79, 103, 103, 83]), {
        mime: "audio/ogg",
        name: "voice.ogg",
      });
      const heard = await s.app.inbox.receive({
        tenantId: s.tenantId,
        channel: "telegram",
        conversation: "42",
        text: "",
        attachments: [{ ...voice, text: { kind: "transcript", content: "please water the plants at nine" } }],
      });
      await s.app.kernel.result(heard.runId);
      const admin = await signedInPage(t, browser(), s.url, ADMIN, `/sessions/${heard.session.id}`);
      const transcript = admin.page.locator("details.att-text");
      assert.match((await transcript.textContent()) ?? "", /Transcript\s*please water the plants at nine/);
      assert.equal(await transcript.getAttribute("open"), "", "a transcript is shown open");
      await screenshot(admin.page, `session-transcript-${b.name}`, b);
      await admin.page.goto(`${s.url}/sessions/${sent.body.sessionId}`);
      const ap = admin.page;
      const adminErrors = admin.errors;
      const link = ap.getByRole("link", { name: "notes.txt" });
      assert.equal(await link.count(), 1);
      const opened = await ap.evaluate(
        async (href) => {
          const r = await fetch(href as string);
          return {
            status: r.status,
            text: await r.text(),
            csp: r.headers.get("content-security-policy"),
            disposition: r.headers.get("content-disposition"),
          };
        },
        await link.getAttribute("href"),
      );
      assert.deepEqual(opened, {
        status: 200,
        text: "the file's own words",
        csp: "sandbox",
        disposition: 'attachment; filename="notes.txt"',
      });
      // Another tenant's file through the same page: a 404, as in the API.
      const other = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "other" } });
      const theirs = await s.call("POST", "/v1/blobs?name=theirs.txt", {
        token: other.body.apiKey,
        raw: "not yours",
        headers: { "content-type": "text/plain" },
      });
      const crossed = await ap.evaluate(async (id) => (await fetch(`/files/${id}`)).status, theirs.body.id);
      assert.equal(crossed, 404, "the page acts for the picked tenant only");
      assert.deepEqual(adminErrors, []);
    });
  }
});
