import assert from "node:assert/strict";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { canSandbox, findChromium, VERIFIED_CHROMIUM_MAJORS } from "../../src/tools/browser/chromium.ts";

const path = findChromium();

test("the pinned playwright-core drives Debian's Chromium over its pipe: version in the verified range, an AI snapshot with refs", {
  skip: path ? false : "no Chromium installed (apt-get install chromium); browser tests skip",
}, async () => {
  const browser = await chromium.launch({ executablePath: path!, chromiumSandbox: canSandbox(), timeout: 30_000 });
  try {
    const version = browser.version();
    const major = Number(version.split(".")[0]);
    assert.ok(
      (VERIFIED_CHROMIUM_MAJORS as readonly number[]).includes(major),
      `Chromium ${version} at ${path} is outside what playwright-core 1.64.1 was verified against (${VERIFIED_CHROMIUM_MAJORS.join(", ")}): pin the playwright-core whose bundled Chromium matches`,
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

test("agentd doctor names the Chromium and whether the pinned playwright-core was verified with it", async (t) => {
  const { spawn } = await import("node:child_process");
  const { writeFileSync, chmodSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { cleanEnv, MAIN, tempDir } = await import("../support/cli.ts");
  const doctor = (env: Record<string, string>) =>
    new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [MAIN, "doctor", "--data", tempDir(t)], { env: cleanEnv(env) });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("exit", () => resolve(out));
    });
  // A stand-in Chromium that only says its version: one too new for this playwright-core, one verified.
  const dir = tempDir(t);
  const fake = (version: string) => {
    const path = join(dir, `chromium-${version}`);
    writeFileSync(path, `#!/bin/sh\necho "Chromium ${version} built on Debian"\n`);
    chmodSync(path, 0o755);
    return path;
  };
  assert.match(
    await doctor({ AGENTD_CHROMIUM: fake("156.0.8078.129") }),
    /^ok\s+browser\s+Chromium 156\.0\.8078\.129 at .*chromium-156\.0\.8078\.129 \(verified with this agentd's playwright-core\)$/m,
  );
  assert.match(
    await doctor({ AGENTD_CHROMIUM: fake("163.0.1.2") }),
    /^FAIL\s+browser\s+Chromium 163\.0\.1\.2 at .*: this agentd's playwright-core was verified with Chromium 155 or 156/m,
  );
  assert.match(
    await doctor({ AGENTD_CHROMIUM: fake("150.0.7871.100") }),
    /^FAIL\s+browser\s+Chromium 150\.0\.7871\.100 at .*: this agentd's playwright-core was verified with Chromium 155 or 156/m,
  );
  assert.match(await doctor({ AGENTD_BROWSER: "0" }), /^ok\s+browser\s+off:/m);
  assert.match(
    await doctor({ AGENTD_CHROMIUM: join(dir, "nowhere") }),
    /^FAIL\s+settings\s+AGENTD_CHROMIUM is ".*nowhere" but no executable is there/m,
  );
});
