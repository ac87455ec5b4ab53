import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import { after, before, describe, test } from "node:test";
import type { Attachment, BlobStore } from "../../src/blobs/types.ts";
import { BrowserError, BrowserManager, findChromium } from "../../src/tools/browser/index.ts";
import { browserTools } from "../../src/tools/browser/index.ts";
import { boundSnapshot } from "../../src/tools/browser/snapshot.ts";
import { fitState, type SavedBrowser } from "../../src/tools/browser/state.ts";
import type { Tool, ToolContext } from "../../src/tools/types.ts";
import { type Site, startSite } from "../support/browser-site.ts";
import { until } from "../support/wait.ts";

const chromium = findChromium();
const skip = chromium ? false : "no Chromium installed (apt-get install chromium); browser tests skip";

/** Blobs kept in memory: what the tools put there is read back by the tests. */
function memoryBlobs(): BlobStore & { all: Map<string, { attachment: Attachment; data: Uint8Array }> } {
  const all = new Map<string, { attachment: Attachment; data: Uint8Array }>();
  let n = 0;
  return {
    all,
    async put(tenantId, data, meta) {
      const attachment: Attachment = {
        id: `blob_${++n}`,
        kind: "document",
        mime: meta.mime,
        size: data.byteLength,
        ...(meta.name ? { name: meta.name } : {}),
      };
      all.set(`${tenantId}/${attachment.id}`, { attachment, data });
      return attachment;
    },
    async get(tenantId, id) {
      return all.get(`${tenantId}/${id}`) ?? null;
    },
  };
}

describe("the browser tools in Debian's Chromium, against a site on 127.0.0.1", { skip }, () => {
  let site: Site;
  let manager: BrowserManager;
  let browser!: Tool;
  let act!: Tool;
  const saved = new Map<string, SavedBrowser>();
  const blobs = memoryBlobs();
  const store = {
    load: async (id: string) => saved.get(id) ?? null,
    save: async (id: string, s: SavedBrowser) => void saved.set(id, JSON.parse(JSON.stringify(s))),
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
  const newManager = () =>
    new BrowserManager({
      executablePath: chromium!,
      net: { allowPrivate: false, allowHosts: [site.host] },
      state: store,
      limits: { idleMs: 120_000, actionTimeoutMs: 10_000 },
      // rebind.test answers 127.0.0.1, like a name whose DNS was rebound to the loopback.
      resolve: async (host) =>
        host === "rebind.test" ? [{ address: "127.0.0.1", family: 4 }] : lookup(host, { all: true }),
    });
  const tools = (m: BrowserManager) => {
    const [b, a] = browserTools({ manager: m, blobs });
    browser = b!;
    act = a!;
  };

  before(async () => {
    site = await startSite();
    manager = newManager();
    tools(manager);
  });
  after(async () => {
    await manager.close();
    await site.close();
  });

  test("a login form: the snapshot has refs, typing and submitting signs in; two tenants stay signed in as different users", {
    timeout: 60_000,
  }, async () => {
    for (const [tenant, user] of [
      ["ten_ada", "ada"],
      ["ten_bob", "bob"],
    ] as const) {
      const login = await read(tenant, { action: "open", url: `${site.url}/login` });
      assert.match(login, new RegExp(`^Page: Sign in — ${site.url}/login$`, "m"));
      await doIt(tenant, {
        action: "type",
        url: `${site.url}/login`,
        ref: ref(login, /textbox "Username"/),
        text: user,
      });
      const done = await doIt(tenant, {
        action: "type",
        url: `${site.url}/login`,
        ref: ref(login, /textbox "Password"/),
        text: `${user}-pw`,
        submit: true,
      });
      assert.match(done, new RegExp(`heading "Signed in as ${user}"`));
    }
    assert.match(await read("ten_ada", { action: "open", url: `${site.url}/account` }), /Signed in as ada/);
    assert.match(await read("ten_bob", { action: "open", url: `${site.url}/account` }), /Signed in as bob/);
    assert.match(await read("ten_nobody", { action: "open", url: `${site.url}/account` }), /Not signed in/);
    // What was saved after the step: the tenant's own cookie, and where its page is.
    const ada = saved.get("ten_ada")!;
    assert.deepEqual(
      ada.storage.cookies.filter((c) => c.name === "session").map((c) => c.value),
      ["ada"],
    );
    assert.deepEqual(ada.pages, [`${site.url}/account`]);
  });

  test("a JavaScript-rendered list, a form that posts, and acting on another site than the page's is refused", {
    timeout: 60_000,
  }, async () => {
    await read("ten_list", { action: "open", url: `${site.url}/list` });
    const list = await read("ten_list", { action: "wait_for", text: "Tern" });
    assert.match(
      list,
      /listitem \[ref=e\d+\]: Kestrel\n.*listitem \[ref=e\d+\]: Osprey\n.*listitem \[ref=e\d+\]: Tern/,
    );
    assert.match(list, /^Page: Boats \(3\)/m);

    const form = await read("ten_form", { action: "open", url: `${site.url}/form` });
    await doIt("ten_form", { action: "type", url: `${site.url}/form`, ref: ref(form, /textbox "Name"/), text: "Ada" });
    await doIt("ten_form", {
      action: "select",
      url: `${site.url}/form`,
      ref: ref(form, /combobox "Colour"/),
      values: ["green"],
    });
    const sent = await doIt("ten_form", {
      action: "click",
      url: `${site.url}/form`,
      ref: ref(form, /button "Send order"/),
    });
    assert.match(sent, /heading "Thanks, Ada"/);
    assert.deepEqual(
      site.posts.filter((p) => p.path === "/form").map((p) => p.fields),
      [{ name: "Ada", color: "green" }],
    );
    await assert.rejects(
      doIt("ten_form", { action: "click", url: "https://bank.example/pay", ref: "e2" }),
      (e: unknown) =>
        BrowserError.is(e) &&
        e.code === "stale" &&
        /the page is at .*, not https:\/\/bank\.example\/pay/.test(e.message),
    );
  });

  test("a download goes to the blob store; an upload comes from it", { timeout: 60_000 }, async () => {
    const files = await read("ten_files", { action: "open", url: `${site.url}/files` });
    const out = await doIt("ten_files", {
      action: "download",
      url: `${site.url}/files`,
      ref: ref(files, /link "Tide table \(CSV\)"/),
    });
    const id = /Downloaded tides\.csv: (blob_\d+) \(text\/csv, 29 bytes\)/.exec(out)?.[1];
    assert.ok(id, out);
    assert.equal(Buffer.from(blobs.all.get(`ten_files/${id}`)!.data).toString(), "day,high\nmon,06:42\ntue,07:30\n");
    const up = await doIt("ten_files", {
      action: "upload",
      url: `${site.url}/files`,
      ref: ref(files, /button "Attach"/),
      blob: id,
    });
    assert.match(up, /Chose tides\.csv \(29 bytes\)/);
    const chosen = await manager.use("ten_files", async (s) =>
      (await s.page())
        .locator("input[type=file]")
        .evaluate((el) => (el as unknown as { files: { name: string }[] }).files[0]?.name),
    );
    assert.equal(chosen, "tides.csv");
    await assert.rejects(
      doIt("ten_files", { action: "upload", url: `${site.url}/files`, ref: "e1", blob: "blob_of_someone_else" }),
      /this tenant has no file/,
    );
  });

  test("the network guard: a redirect to the metadata service or a private address, private subresources, a rebound name and file: URLs get nothing", {
    timeout: 60_000,
  }, async () => {
    await assert.rejects(
      read("ten_guard", { action: "open", url: `${site.url}/go-metadata` }),
      (e: unknown) =>
        BrowserError.is(e) && e.code === "refused" && /169\.254\.169\.254 is a cloud metadata service/.test(e.message),
    );
    await assert.rejects(
      read("ten_guard", { action: "open", url: `${site.url}/go-private` }),
      (e: unknown) => BrowserError.is(e) && /10\.20\.30\.40 is a private address/.test(e.message),
    );
    const leaky = await read("ten_guard", { action: "open", url: `${site.url}/leaky` });
    assert.match(leaky, /heading "Leaky"/);
    // The page's image, fetch and WebSocket were refused (they may finish after the page loads).
    let refused = leaky;
    for (
      let i = 0;
      i < 20 &&
      !(/10\.20\.30\.40/.test(refused) && /169\.254\.169\.254/.test(refused) && /10\.20\.30\.41/.test(refused));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      refused += await read("ten_guard", { action: "snapshot" });
    }
    assert.match(
      refused,
      /Refused by the network guard: request to 10\.20\.30\.40 refused: 10\.20\.30\.40 is a private address/,
    );
    assert.match(refused, /Refused by the network guard: request to 169\.254\.169\.254 refused/);
    assert.match(refused, /Refused by the network guard: request to 10\.20\.30\.41 refused/);
    const port = new URL(site.url).port;
    await assert.rejects(
      read("ten_guard", { action: "open", url: `http://rebind.test:${port}/` }),
      (e: unknown) => BrowserError.is(e) && /rebind\.test resolves to 127\.0\.0\.1, a loopback address/.test(e.message),
    );
    await assert.rejects(
      read("ten_guard", { action: "open", url: "file:///etc/passwd" }),
      (e: unknown) => BrowserError.is(e) && e.code === "bad_url",
    );
  });

  test("service workers are blocked: a page cannot register one to act behind the guard's back", {
    timeout: 60_000,
  }, async () => {
    await read("ten_sw", { action: "open", url: `${site.url}/sw` });
    // Registration never completes, and the worker's script is never even fetched (allowed, it is, within milliseconds).
    await assert.rejects(until(() => site.gets.includes("/sw.js"), "the service worker's script to be fetched", 3_000));
    assert.match(await read("ten_sw", { action: "snapshot" }), /paragraph \[ref=e\d+\]: "?sw: trying/);
  });

  test("an iframe's elements have refs and can be acted on", { timeout: 60_000 }, async () => {
    const frame = await read("ten_frame", { action: "open", url: `${site.url}/frame` });
    const button = ref(frame, /button "Inner button"/);
    assert.match(button, /^f\d+e\d+$/);
    const after = await doIt("ten_frame", { action: "click", url: `${site.url}/frame`, ref: button });
    assert.match(after, /paragraph \[ref=f\d+e\d+\]: inner clicked/);
  });

  test("limits: pages per tenant; snapshots bounded; a stale ref says to take a new snapshot", {
    timeout: 60_000,
  }, async () => {
    for (let i = 0; i < 4; i++) await read("ten_tabs", { action: "open_tab", url: `${site.url}/` });
    await assert.rejects(
      read("ten_tabs", { action: "open_tab", url: `${site.url}/` }),
      (e: unknown) => BrowserError.is(e) && e.code === "limit",
    );
    assert.equal((await read("ten_tabs", { action: "tabs" })).split("\n").length, 5);
    await assert.rejects(
      doIt("ten_tabs", { action: "click", url: `${site.url}/`, ref: "e999" }),
      (e: unknown) => BrowserError.is(e) && e.code === "stale" && /take a new snapshot/.test(e.message),
    );
    const yaml = Array.from(
      { length: 500 },
      (_, i) => `- generic [ref=e${i}]:\n  - button "B${i}" [ref=e${i + 1000}]`,
    ).join("\n");
    const b = boundSnapshot(yaml, { maxBytes: 2000 });
    assert.ok(b.bytes <= 2100 && b.cut);
    assert.match(b.text, /more lines cut at 2000 bytes/);
    const only = boundSnapshot(yaml, { maxBytes: 100_000, interactiveOnly: true });
    assert.equal(only.text.split("\n").length, 500);
    assert.ok(only.text.split("\n").every((l) => l.startsWith('- button "B')));
  });

  test("the state survives the browser: a new worker's browser restores the tenant's login and its page", {
    timeout: 60_000,
  }, async () => {
    const login = await read("ten_again", { action: "open", url: `${site.url}/login` });
    await doIt("ten_again", {
      action: "type",
      url: `${site.url}/login`,
      ref: ref(login, /textbox "Username"/),
      text: "cy",
    });
    await doIt("ten_again", {
      action: "type",
      url: `${site.url}/login`,
      ref: ref(login, /textbox "Password"/),
      text: "cy-pw",
      submit: true,
    });
    const before = manager.launches;
    await manager.close(); // this worker stops; another one (a new manager, a new Chromium) takes over
    manager = newManager();
    tools(manager);
    const snap = await read("ten_again", { action: "snapshot" });
    assert.match(snap, new RegExp(`^Page: Account — ${site.url}/account$`, "m"), "the page came back at its URL");
    assert.match(snap, /Signed in as cy/);
    assert.equal(manager.launches, 1);
    assert.ok(before >= 1);
  });

  test("the browser closes itself when idle and starts again on the next use, with the tenant's state", {
    timeout: 60_000,
  }, async () => {
    const idle = new BrowserManager({
      executablePath: chromium!,
      net: { allowPrivate: false, allowHosts: [site.host] },
      state: store,
      limits: { idleMs: 300 },
    });
    try {
      const [b] = browserTools({ manager: idle, blobs });
      await b!.run(b!.input.parse({ action: "open", url: `${site.url}/account` }), ctx("ten_idle"));
      assert.deepEqual(idle.stats(), { browser: true, contexts: 1 });
      await until(() => !idle.stats().browser, "the idle browser to close", 10_000);
      assert.equal(idle.stats().contexts, 0);
      const again = String(await b!.run(b!.input.parse({ action: "snapshot" }), ctx("ten_idle")));
      assert.match(again, new RegExp(`^Page: Account — ${site.url}/account$`, "m"), "reopened from the saved state");
      assert.equal(idle.launches, 2);
    } finally {
      await idle.close();
    }
  });

  test("browser_act's subject: a host pattern matches the page's host only, never a host named in its path", async () => {
    const { globMatch } = await import("../../src/agent/glob.ts");
    const subject = (url: string) => act.subject!(act.input.parse({ action: "click", url, ref: "e1" }));
    assert.equal(
      subject("https://Shop.Example.com/cart?x=1"),
      "click shop.example.com https://shop.example.com/cart?x=1",
    );
    const rule = "* *.example.com *";
    assert.ok(globMatch(rule, subject("https://shop.example.com/cart")));
    assert.ok(!globMatch(rule, subject("https://evil.test/a.example.com/")), "a path naming the host does not match");
    assert.ok(
      !globMatch(rule, subject("https://evil.test/ https://shop.example.com/x")),
      "a space in the URL is encoded, not a field",
    );
    assert.ok(!globMatch(rule, subject("https://shop.example.com.evil.test/")));
    const always = act.always!(act.input.parse({ action: "type", url: "https://shop.example.com/login", ref: "e1" }));
    assert.equal(always.pattern, "* shop.example.com https://shop.example.com/*");
    assert.ok(globMatch(always.pattern, subject("https://shop.example.com/pay")));
    assert.ok(!globMatch(always.pattern, subject("https://evil.test/ https://shop.example.com/x")));
  });

  test("a state that cannot be saved is said in the next step, not lost in silence", { timeout: 60_000 }, async () => {
    let fail = true;
    const flaky = {
      load: async () => null,
      save: async () => {
        if (fail) throw new Error("this tenant's vault holds 1000 secrets");
      },
    };
    const m = new BrowserManager({
      executablePath: chromium!,
      net: { allowPrivate: false, allowHosts: [site.host] },
      state: flaky,
      limits: { idleMs: 120_000 },
    });
    try {
      const [b] = browserTools({ manager: m, blobs });
      const run = async () =>
        String(await b!.run(b!.input.parse({ action: "open", url: `${site.url}/` }), ctx("ten_full")));
      assert.doesNotMatch(await run(), /could not be saved/);
      assert.match(
        await run(),
        /^Note: the browser's state could not be saved after the last step \(this tenant's vault holds 1000 secrets\): a login may not survive a restart$/m,
      );
      fail = false;
      await run();
      assert.doesNotMatch(await run(), /could not be saved/, "said until a save succeeds");
    } finally {
      await m.close();
    }
  });

  test("state too large for the vault drops local storage first, then the largest cookies", () => {
    const cookie = (name: string, size: number) => ({
      name,
      value: "v".repeat(size),
      domain: "x",
      path: "/",
      expires: -1,
      httpOnly: false,
      secure: false,
      sameSite: "Lax" as const,
    });
    const big: SavedBrowser = {
      storage: {
        cookies: [cookie("session", 40), cookie("tracker", 30_000)],
        origins: [{ origin: "https://x", localStorage: [{ name: "blob", value: "z".repeat(40_000) }] }],
      },
      pages: ["https://x/"],
      active: 0,
    };
    const { json, dropped } = fitState(big, 20_000);
    const back = JSON.parse(json) as SavedBrowser;
    assert.equal(dropped, 2);
    assert.deepEqual(back.storage.origins, []);
    assert.deepEqual(
      back.storage.cookies.map((c) => c.name),
      ["session"],
    );
  });
});
