import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cleanEnv, MAIN, tempDir } from "../support/cli.ts";
import { skip } from "./rig.ts";

function doctor(t: { after(fn: () => unknown): void }, env: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, "doctor", "--data", tempDir(t)], {
      env: cleanEnv({ AGENTD_MODEL: "echo", ...env }),
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", () => resolve(out));
  });
}

test("agentd doctor says whether code can be sandboxed here, and why not", { timeout: 60_000 }, async (t) => {
  if (!skip)
    assert.match(
      await doctor(t, {}),
      /^ok\s+sandbox\s+bubblewrap works at \/usr\/bin\/bwrap \((as root: code runs as a uid per tenant and area|in a user namespace), no network/m,
    );
  assert.match(
    await doctor(t, { AGENTD_BWRAP: "/nowhere/bwrap" }),
    /^FAIL\s+sandbox\s+bubblewrap is not installed at \/nowhere\/bwrap: apt-get install bubblewrap .*; run_code refuses to run code until this is fixed/m,
  );
  // A bubblewrap that cannot make namespaces (what a kernel without user namespaces, or a locked-down container, answers).
  const dir = tempDir(t);
  const denied = join(dir, "bwrap");
  writeFileSync(
    denied,
    "#!/bin/sh\necho 'bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n",
  );
  chmodSync(denied, 0o755);
  assert.match(
    await doctor(t, { AGENTD_BWRAP: denied }),
    /^FAIL\s+sandbox\s+.*may not create namespaces.*No permissions to create new namespace/m,
  );
  assert.match(
    await doctor(t, { AGENTD_BWRAP: "/nowhere/bwrap", AGENTD_UNSANDBOXED_CODE: "1" }),
    /^ok\s+sandbox\s+NOT SANDBOXED: bubblewrap is not installed.*AGENTD_UNSANDBOXED_CODE=1/m,
  );
  assert.match(
    await doctor(t, { AGENTD_SANDBOX: "0" }),
    /^ok\s+sandbox\s+off \(AGENTD_SANDBOX=0\): run_code is not offered/m,
  );
});
