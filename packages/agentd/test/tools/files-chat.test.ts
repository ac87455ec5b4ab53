/**
 * Files out in the terminal: `agentd chat` (an agentd in its own process, Debian's Chromium) shows the
 * files a reply sends as links to the blob API, and the blob behind the link is the screenshot.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { findChromium } from "../../src/tools/browser/index.ts";
import { startSite } from "../support/browser-site.ts";
import { agentd, cleanEnv, freePort, tempDir } from "../support/cli.ts";
import { startModelServer } from "../support/model-server.ts";

const skip = findChromium() ? false : "no Chromium installed (apt-get install chromium); browser tests skip";

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

test("agentd chat: a screenshot the person asked for is shown as a link to its blob", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const [site, model] = await Promise.all([startSite(), startModelServer()]);
  t.after(() => Promise.all([site.close(), model.close()]));
  const dir = tempDir(t);
  const port = await freePort();
  model.script(
    { toolCalls: [{ name: "browser", arguments: { action: "open", url: `${site.url}/list` } }] },
    { toolCalls: [{ name: "browser", arguments: { action: "screenshot" } }] },
    (req) => {
      const tool = String(req.body.messages.filter((m: { role: string }) => m.role === "tool").at(-1)?.content);
      return { toolCalls: [{ name: "send_file", arguments: { files: [/blob_[\w-]+/.exec(tool)?.[0]] } }] };
    },
    { text: "Here it is." },
  );
  const env = cleanEnv({
    AGENTD_MODEL_BASE_URL: model.url,
    AGENTD_MODEL: "stand-in",
    AGENTD_PORT: String(port),
    AGENTD_ALLOW_HOSTS: site.host,
  });
  const r = await agentd(["chat", "--data", dir], env, "send me a screenshot of the boats\n", 90_000);
  assert.equal(r.code, 0, r.stderr);
  const link =
    /^\[file\] screenshot\.png \(image\/png, (\d+) bytes\): http:\/\/127\.0\.0\.1:\d+\/v1\/blobs\/(blob_[\w-]+)$/m.exec(
      r.stdout,
    );
  assert.ok(link, r.stdout);
  assert.match(r.stdout, /Here it is\.\n\[file\]/);
  const size = Number(link[1]);
  const kept = filesUnder(join(dir, "blobs")).filter((f) => statSync(f).size === size);
  assert.equal(kept.length, 1, "the screenshot is in the blob store");
  assert.equal(readFileSync(kept[0]!).subarray(1, 4).toString(), "PNG");
});
