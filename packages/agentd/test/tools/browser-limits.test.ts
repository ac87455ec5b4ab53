/**
 * The browser's bounds enforced while they are being reached: a download is stopped once it passes
 * the limit (not read whole and measured after), and a step whose turn is cancelled stops at once
 * (its tenant's context closed unsaved; the next step reopens the page of the last saved state).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Attachment, BlobStore } from "../../src/blobs/types.ts";
import { BrowserManager, browserTools, findChromium } from "../../src/tools/browser/index.ts";
import type { SavedBrowser } from "../../src/tools/browser/state.ts";
import type { Tool, ToolContext } from "../../src/tools/types.ts";
import { type Site, startSite } from "../support/browser-site.ts";

const chromium = findChromium();
const skip = chromium ? false : "no Chromium installed (apt-get install chromium); browser tests skip";
const LIMIT = 300_000;

describe("the browser's limits, enforced as they are reached", { skip }, () => {
  let site: Site;
  let manager: BrowserManager;
  let browser!: Tool;
  let act!: Tool;
  const saved = new Map<string, SavedBrowser>();
  const kept: Attachment[] = [];
  const blobs: BlobStore = {
    async put(_t, data, meta) {
      const a: Attachment = { id: `blob_${kept.length + 1}`, kind: "document", mime: meta.mime, size: data.byteLength };
      kept.push(a);
      return a;
    },
    get: async () => null,
  };
  const ctx = (tenantId: string, signal = new AbortController().signal) =>
    ({ tenant: { tenantId }, signal }) as unknown as ToolContext;
  const text = (v: unknown) => String(v);

  before(async () => {
    site = await startSite();
    manager = new BrowserManager({
      executablePath: chromium!,
      net: { allowPrivate: false, allowHosts: [site.host] },
      state: {
        load: async (id) => saved.get(id) ?? null,
        save: async (id, s) => void saved.set(id, JSON.parse(JSON.stringify(s))),
      },
      // An action waits a minute at most: a step stopped by its signal ends long before, however busy the machine.
      limits: { idleMs: 120_000, actionTimeoutMs: 60_000 },
    });
    [browser, act] = browserTools({ manager, blobs, limits: { downloadBytes: LIMIT } }) as [Tool, Tool];
  });
  after(async () => {
    await manager.close();
    await site.close();
  });

  test("a download over the limit is stopped as it passes it, and nothing is kept", { timeout: 60_000 }, async () => {
    const page = text(await browser.run(browser.input.parse({ action: "open", url: `${site.url}/files` }), ctx("t1")));
    const ref = /link "Chart archive" \[ref=(e\d+)\]/.exec(page)?.[1];
    assert.ok(ref, page);
    const started = Date.now();
    await assert.rejects(
      act.run(act.input.parse({ action: "download", url: `${site.url}/files`, ref }), ctx("t1")),
      (e: Error) => /passed the limit of 300000 bytes \(\d+ so far\) and was stopped/.test(e.message),
    );
    assert.equal(kept.length, 0);
    // The whole file (4 MB, 64 pieces 20 ms apart) takes over 1.3 s to send; it was cut long before its end.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(site.bigSent < 2_000_000, `the server sent ${site.bigSent} bytes before the download was stopped`);
    assert.ok(Date.now() - started < 5_000);
  });

  test("a cancelled turn stops the browser step at once; the next step reopens the last saved page", {
    timeout: 60_000,
  }, async () => {
    await browser.run(browser.input.parse({ action: "open", url: `${site.url}/list` }), ctx("t2"));
    const turn = new AbortController();
    const started = Date.now();
    const waiting = browser.run(
      browser.input.parse({ action: "wait_for", text: "a text that never comes" }),
      ctx("t2", turn.signal),
    );
    setTimeout(() => turn.abort(), 300);
    await assert.rejects(waiting, /the browser step was stopped \(the turn was cancelled or ran out of time\)/);
    assert.ok(Date.now() - started < 20_000, "stopped well before the action's own 60 s timeout");
    const next = text(await browser.run(browser.input.parse({ action: "snapshot" }), ctx("t2")));
    // The page's script renames it "Boats (3)" once its list arrives: the title is read whichever came first.
    assert.match(next, /^Page: Boats(?: \(3\))? — http:\/\/127\.0\.0\.1:\d+\/list/);
  });
});
