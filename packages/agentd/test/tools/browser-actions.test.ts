/**
 * The browser's actions not covered by browser.test.ts, each against the local site in Debian's
 * Chromium: back, readable text, hover, press, scroll, switching tabs, a snapshot limited in depth;
 * the bound on browser work at once (per worker, and one at a time per tenant), and the bound on open
 * tenant contexts (the least recently used closed, its state saved).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { BlobStore } from "../../src/blobs/types.ts";
import { BrowserManager, browserTools, findChromium } from "../../src/tools/browser/index.ts";
import type { SavedBrowser } from "../../src/tools/browser/state.ts";
import type { Tool, ToolContext } from "../../src/tools/types.ts";
import { type Site, startSite } from "../support/browser-site.ts";
import { until } from "../support/wait.ts";

const chromium = findChromium();
const skip = chromium ? false : "no Chromium installed (apt-get install chromium); browser tests skip";

describe("the browser's other actions, and how much browser work runs at once", { skip }, () => {
  let site: Site;
  let manager: BrowserManager;
  let browser!: Tool;
  let act!: Tool;
  const saved = new Map<string, SavedBrowser>();
  const blobs: BlobStore = {
    put: async () => {
      throw new Error("no files here");
    },
    get: async () => null,
  };
  const ctx = (tenantId: string) =>
    ({ tenant: { tenantId }, signal: new AbortController().signal }) as unknown as ToolContext;
  const read = async (tenant: string, args: object) =>
    String(await browser.run(browser.input.parse(args), ctx(tenant)));
  const doIt = async (tenant: string, args: object) => String(await act.run(act.input.parse(args), ctx(tenant)));
  const ref = (snapshot: string, line: RegExp) => {
    const m = new RegExp(`${line.source}.*\\[ref=((?:f\\d+)?e\\d+)\\]`).exec(snapshot);
    assert.ok(m, `no ${line} in:\n${snapshot}`);
    return m[1]!;
  };

  before(async () => {
    site = await startSite();
    manager = new BrowserManager({
      executablePath: chromium!,
      net: { allowPrivate: false, allowHosts: [site.host] },
      state: {
        load: async (id) => saved.get(id) ?? null,
        save: async (id, s) => void saved.set(id, JSON.parse(JSON.stringify(s))),
      },
      limits: { idleMs: 120_000, actionTimeoutMs: 15_000, concurrency: 2 },
    });
    [browser, act] = browserTools({ manager, blobs }) as [Tool, Tool];
  });
  after(async () => {
    await manager.close();
    await site.close();
  });

  test("back returns to the previous page; text is the page's readable text, not its snapshot", {
    timeout: 60_000,
  }, async () => {
    await read("ten_nav", { action: "open", url: `${site.url}/` });
    await read("ten_nav", { action: "open", url: `${site.url}/list` });
    const back = await read("ten_nav", { action: "back" });
    assert.match(back, new RegExp(`^Page: Harbour shop — ${site.url}/$`, "m"));
    await read("ten_nav", { action: "open", url: `${site.url}/list` });
    await read("ten_nav", { action: "wait_for", text: "Tern" });
    const text = await read("ten_nav", { action: "text" });
    assert.match(text, new RegExp(`^Page: ${site.url}/list\n`));
    assert.match(text, /Kestrel[\s\S]*Osprey[\s\S]*Tern/, "the list the page's script rendered");
    assert.doesNotMatch(text, /\[ref=/, "plain text, no refs");
  });

  test("hover, press (on a ref and on the page) and scroll each reach the page's own handlers", {
    timeout: 60_000,
  }, async () => {
    const url = `${site.url}/widgets`;
    const page = await read("ten_widgets", { action: "open", url });
    assert.match(page, /paragraph \[ref=e\d+\]: menu closed/);
    const hovered = await read("ten_widgets", { action: "hover", ref: ref(page, /button "Menu"/) });
    assert.match(hovered, /paragraph \[ref=e\d+\]: menu open/);

    const search = ref(page, /textbox "Search"/);
    await doIt("ten_widgets", { action: "type", url, ref: search, text: "tides" });
    assert.match(await read("ten_widgets", { action: "snapshot" }), /nothing searched/, "typing alone sends nothing");
    const pressed = await doIt("ten_widgets", { action: "press", url, ref: search, key: "Enter" });
    assert.match(pressed, /paragraph \[ref=e\d+\]: searched tides/);
    // Without a ref the key goes to whatever has the focus (still the search box).
    await doIt("ten_widgets", { action: "press", url, key: "Backspace" });
    await doIt("ten_widgets", { action: "press", url, key: "Enter" });
    assert.match(await read("ten_widgets", { action: "snapshot" }), /searched tide\b/);

    assert.match(await read("ten_widgets", { action: "snapshot" }), /at the top/);
    await read("ten_widgets", { action: "scroll", direction: "down" });
    assert.match(await read("ten_widgets", { action: "wait_for", text: "scrolled down" }), /scrolled down/);
    await read("ten_widgets", { action: "scroll", direction: "up" });
    assert.match(await read("ten_widgets", { action: "wait_for", text: "at the top" }), /at the top/);
  });

  test("a snapshot limited in depth leaves out what is nested deeper", { timeout: 60_000 }, async () => {
    const full = await read("ten_depth", { action: "open", url: `${site.url}/widgets` });
    assert.match(full, /link "Deep link"/);
    const shallow = await read("ten_depth", { action: "snapshot", depth: 2 });
    assert.doesNotMatch(shallow, /Deep link/);
    assert.match(shallow, /heading "Widgets"/, "what is near the top stays");
    assert.ok(shallow.length < full.length);
    assert.equal(browser.input.safeParse({ action: "snapshot", depth: 0 }).success, false);
  });

  test("tabs: open_tab makes the new tab active; tab switches back; tabs marks the active one", {
    timeout: 60_000,
  }, async () => {
    await read("ten_tab", { action: "open", url: `${site.url}/` });
    const second = await read("ten_tab", { action: "open_tab", url: `${site.url}/account` });
    assert.match(second, /^Tab 1 of 2/m);
    const first = await read("ten_tab", { action: "tab", tab: 0 });
    assert.match(first, new RegExp(`^Page: Harbour shop — ${site.url}/$`, "m"));
    assert.equal(await read("ten_tab", { action: "tabs" }), `* 0: ${site.url}/\n  1: ${site.url}/account`);
    await assert.rejects(read("ten_tab", { action: "tab", tab: 5 }), /there is no tab 5: the open tabs are 0 to 1/);
  });

  test("at most `concurrency` uses run at once in a worker, and one at a time per tenant", {
    timeout: 60_000,
  }, async () => {
    let running = 0;
    let most = 0;
    const perTenant = new Map<string, number>();
    let mostPerTenant = 0;
    const work = (tenant: string) =>
      manager.use(tenant, async () => {
        running++;
        most = Math.max(most, running);
        perTenant.set(tenant, (perTenant.get(tenant) ?? 0) + 1);
        mostPerTenant = Math.max(mostPerTenant, perTenant.get(tenant)!);
        // Wait (a while at most) for company, so that a missing bound would show.
        await until(() => running >= 3, "", 1_500).catch(() => {});
        running--;
        perTenant.set(tenant, perTenant.get(tenant)! - 1);
      });
    await Promise.all([work("ten_c1"), work("ten_c1"), work("ten_c2"), work("ten_c3"), work("ten_c3")]);
    assert.equal(most, 2, "two uses ran side by side, never three");
    assert.equal(mostPerTenant, 1, "a tenant's uses never overlap");
  });

  test("beyond maxContexts the least recently used tenant's context is closed, its state saved, and reopened on its next use", {
    timeout: 60_000,
  }, async () => {
    const state = new Map<string, SavedBrowser>();
    const small = new BrowserManager({
      executablePath: chromium!,
      net: { allowPrivate: false, allowHosts: [site.host] },
      state: {
        load: async (id) => state.get(id) ?? null,
        save: async (id, s) => void state.set(id, JSON.parse(JSON.stringify(s))),
      },
      limits: { idleMs: 120_000, maxContexts: 2 },
    });
    try {
      const [b] = browserTools({ manager: small, blobs });
      const open = async (tenant: string, path: string) =>
        String(await b!.run(b!.input.parse({ action: "open", url: `${site.url}${path}` }), ctx(tenant)));
      await open("ten_e1", "/account");
      await open("ten_e2", "/list");
      assert.equal(small.stats().contexts, 2);
      await open("ten_e3", "/form");
      assert.equal(small.stats().contexts, 2, "the third tenant's context took the place of the oldest");
      assert.deepEqual(
        state.get("ten_e1")?.pages,
        [`${site.url}/account`],
        "its state (saved after its step) names its page",
      );
      const back = String(await b!.run(b!.input.parse({ action: "snapshot" }), ctx("ten_e1")));
      assert.match(back, new RegExp(`^Page: Account — ${site.url}/account$`, "m"), "reopened from its saved state");
      assert.equal(small.stats().contexts, 2);
      assert.equal(small.launches, 1, "one browser process throughout");
    } finally {
      await small.close();
    }
  });
});
