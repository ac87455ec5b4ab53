import assert from "node:assert/strict";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { canSandbox, findChromium, VERIFIED_CHROMIUM_MAJORS } from "../../src/tools/browser/chromium.ts";

const path = findChromium();

test("the pinned playwright-core drives Debian's Chromium over its pipe: version in the verified range, an AI snapshot with refs", { skip: path ? false : "no Chromium installed (apt-get install chromium); browser tests skip" }, async () => {
  const browser = await chromium.launch({ executablePath: path!, chromiumSandbox: canSandbox(), timeout: 30_000 });
  try {
    const version = browser.version();
    const major = Number(version.split(".")[0]);
    assert.ok(
      (VERIFIED_CHROMIUM_MAJORS as readonly number[]).includes(major),
      `Chromium ${version} at ${path} is outside what playwright-core 1.62.1 was verified against (${VERIFIED_CHROMIUM_MAJORS.join(", ")}): pin the playwright-core whose bundled Chromium matches`,
    );
    const page = await (await browser.newContext()).newPage();
    await page.setContent("<h1>Hi</h1><button>Go</button><input aria-label='Name'>");
    const snap = await page.ariaSnapshot({ mode: "ai" });
    assert.match(snap, /- button "Go" \[ref=e\d+\]/);
    await page.locator(`aria-ref=${/textbox "Name" \[ref=(e\d+)\]/.exec(snap)![1]}`).fill("Ada");
    assert.equal(await page.inputValue("input"), "Ada");
  } finally {
    await browser.close();
  }
});
