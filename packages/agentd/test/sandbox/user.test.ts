import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { skip } from "./rig.ts";

const NOBODY = 65534;
const asRoot = process.geteuid?.() === 0;

test("as an ordinary user agentd sandboxes through a user namespace: no capability outside, files owned by agentd's user", {
  skip: skip ?? (asRoot ? undefined : "not root: every other sandbox test already runs this way"),
}, (t) => {
  const root = mkdtempSync(join(tmpdir(), "agentd-sandbox-user-"));
  chownSync(root, NOBODY, NOBODY);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const out = execFileSync(process.execPath, [join(import.meta.dirname, "as-user.ts"), root], {
    uid: NOBODY,
    gid: NOBODY,
    encoding: "utf8",
    timeout: 60_000,
  });
  const r = JSON.parse(out) as { stdout: string; stderr: string };
  assert.match(r.stdout, /^1000\nCapEff:\s+0+\n$/, r.stderr);
  assert.match(r.stderr, /shadow: No such file/);
  assert.doesNotMatch(r.stdout, /nested/, "no user namespace inside the sandbox's own");
  assert.equal(statSync(join(root, "ten_u", "code", "made")).uid, NOBODY);
});
