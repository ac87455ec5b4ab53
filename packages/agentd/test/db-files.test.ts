import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createAgentd } from "../src/app.ts";

const mode = (p: string) => statSync(p).mode & 0o777;
const DB_FILES = ["agentd.db", "agentd.db-wal", "agentd.db-shm", "os.db", "os.db-wal", "os.db-shm"];

// Only SQLite keeps databases in files; on Postgres the server's own permissions apply.
test("the SQLite databases and their folder are owner-only, when created and when opened with wider modes", {
  skip: process.platform === "win32",
}, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "agentd-files-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, "data");
  const open = async () => {
    const app = await createAgentd({
      env: {},
      config: { dataDir, adminToken: "admin-test-token", model: { id: "none" } },
      tools: [],
      logger: () => {},
    });
    await app.tenants.create("files", {}); // writes to both databases, so their -wal and -shm files exist
    return app;
  };
  let app = await open();
  try {
    assert.equal(mode(dataDir).toString(8), "700");
    for (const f of DB_FILES) {
      assert.ok(existsSync(join(dataDir, f)), `${f} exists`);
      assert.equal(mode(join(dataDir, f)).toString(8), "600", f);
    }
  } finally {
    await app.close();
  }
  // Made by an older agentd (0644 files in a 0755 folder): narrowed when opened.
  chmodSync(dataDir, 0o755);
  for (const f of ["agentd.db", "os.db"]) chmodSync(join(dataDir, f), 0o644);
  app = await open();
  try {
    assert.equal(mode(dataDir).toString(8), "700");
    for (const f of DB_FILES) assert.equal(mode(join(dataDir, f)).toString(8), "600", f);
  } finally {
    await app.close();
  }
});
