/**
 * A login handed to a person: the agent sends a link to a live view of its browser (and a screenshot)
 * to Telegram and waits durably; the person signs in through the live view (keys forwarded to the
 * page) and presses Done; the run resumes from the state saved in the vault, and the tenant stays
 * signed in for later turns.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createApi } from "../../src/api/index.ts";
import { findChromium } from "../../src/tools/browser/index.ts";
import { BACKENDS } from "../support/backends.ts";
import type { RecordedRequest } from "../support/model-server.ts";
import { browsingTelegramRig, sentTo } from "../support/telegram-rig.ts";
import { textUpdate } from "../support/telegram-updates.ts";
import { until } from "../support/wait.ts";

const ALICE = { id: 701, is_bot: false, first_name: "Alice", username: "alice" };
const skip = findChromium() ? false : "no Chromium installed (apt-get install chromium); browser tests skip";
const lastTool = (req: RecordedRequest) =>
  String(req.body.messages.filter((m: { role: string }) => m.role === "tool").at(-1)?.content ?? "");

for (const b of BACKENDS) {
  describe(`a login handed to a person (${b.name})`, { skip }, () => {
    test("the person signs in through the live view and presses Done; the run resumes and the tenant stays signed in", {
      timeout: 120_000,
    }, async (t) => {
      const { app, model, tg, post, pair, tenantId, site } = await browsingTelegramRig(t, b);
      const api = createApi(app);
      await pair(ALICE);
      model.script(
        { toolCalls: [{ name: "browser", arguments: { action: "open", url: `${site.url}/login` } }] },
        { toolCalls: [{ name: "browser_handoff", arguments: { reason: "sign in to the harbour shop" } }] },
        (req) => ({ text: /Signed in as ada/.test(lastTool(req)) ? "You are signed in." : "Not signed in." }),
      );
      assert.equal((await post(textUpdate(ALICE, "sign me in to the harbour shop"))).status, 200);

      // The link and the page as it is reach the person's chat.
      const ask = await until(
        () => sentTo(tg, ALICE.id).find((c) => /take over the browser/.test(String(c.params.text))),
        "the handoff message",
        60_000,
      );
      const path = new URL(/(http:\/\/\S+\/handoff\/[\w-]+)/.exec(String(ask.params.text))![1]!).pathname;
      await until(() => tg.callsOf("sendPhoto").length === 1, "the screenshot", 30_000);
      const [run] = await app.kernel.listRuns({ workflow: "agent.turn", status: ["running", "suspended"] });
      assert.ok(run, "the turn waits");

      // The live view: the page, its screen, then the person's keys; nothing works without the token.
      const page = await api.request(path);
      assert.equal(page.status, 200);
      assert.equal(page.headers.get("referrer-policy"), "no-referrer");
      assert.match(await page.text(), /press <b>Done<\/b>/);
      const screen = await api.request(`${path}/screen`);
      assert.equal(screen.headers.get("content-type"), "image/png");
      assert.equal(
        Buffer.from(await screen.arrayBuffer())
          .subarray(1, 4)
          .toString(),
        "PNG",
      );
      assert.equal((await api.request(`${path.slice(0, -4)}xxxx/screen`)).status, 404);
      const input = (body: object) =>
        api.request(`${path}/input`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      assert.equal((await input({ kind: "key", key: "Nope; rm -rf" })).status, 400);
      for (const step of [
        { kind: "key", key: "Tab" },
        { kind: "type", text: "ada" },
        { kind: "key", key: "Tab" },
        { kind: "type", text: "ada-pw" },
        { kind: "key", key: "Enter" },
      ])
        assert.equal((await input(step)).status, 200, JSON.stringify(step));
      assert.deepEqual(
        site.posts.map((p) => p.fields),
        [{ username: "ada", password: "ada-pw" }],
      );
      assert.equal((await api.request(`${path}/done`, { method: "POST" })).status, 200);

      // The run resumes (its browser context reopened from the vault) and answers.
      await until(
        () => sentTo(tg, ALICE.id).some((c) => c.params.text === "You are signed in."),
        "the reply after the handoff",
        60_000,
      );
      assert.match(lastTool(model.requests.at(-1)!), /The person is done[\s\S]*Signed in as ada/);
      assert.equal((await api.request(path)).status, 404, "the link ended with Done");
      assert.equal(model.requests.filter((r) => JSON.stringify(r.body).includes("ada-pw")).length, 0);

      // A later turn finds the tenant still signed in.
      model.script(
        { toolCalls: [{ name: "browser", arguments: { action: "open", url: `${site.url}/account` } }] },
        (req) => ({ text: /Signed in as ada/.test(lastTool(req)) ? "Still signed in." : "Signed out." }),
      );
      await app.browser!.forget(tenantId); // as on another worker: the state comes from the vault
      assert.equal((await post(textUpdate(ALICE, "am I still signed in?"))).status, 200);
      await until(
        () => sentTo(tg, ALICE.id).some((c) => c.params.text === "Still signed in."),
        "still signed in",
        60_000,
      );
    });
  });
}
