import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runSandboxed } from "../../src/sandbox/run.ts";
import { createSandbox } from "../../src/sandbox/runner.ts";

// A bubblewrap that fails at once (what a container that forbids namespaces answers) exits while the
// runner still awaits its own work after spawning: that exit was missed, and the run never ended
// (`agentd doctor` died with "unsettled top-level await" about half the time), or Node dropped what it
// said before anyone read it (doctor then gave no reason). Hammered, bounded in time.
test("a sandbox that exits at once always ends its run, with its exit and what it said", {
  timeout: 120_000,
}, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "agentd-sandbox-early-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const bwrap = join(root, "bwrap");
  writeFileSync(bwrap, "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n");
  chmodSync(bwrap, 0o755);
  const sandbox = createSandbox({ mode: "bwrap", bwrap, root, net: { allowPrivate: false, allowHosts: [] } });
  const deadline = Date.now() + 20_000;
  let runs = 0;
  while (runs < 200 && Date.now() < deadline) {
    const batch = Array.from({ length: 8 }, () =>
      Promise.race([
        runSandboxed(sandbox, { tenantId: "ten_a", area: "code", command: ["true"] }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the run never ended")), 10_000).unref()),
      ]),
    );
    for (const r of await Promise.all(batch)) {
      assert.deepEqual([r.exit.code, r.exit.reason], [1, "exit"]);
      assert.match(r.stderr, /No permissions to create new namespace/);
    }
    runs += batch.length;
  }
  assert.ok(runs >= 40, `only ${runs} runs in the time`);
});
