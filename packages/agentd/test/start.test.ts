import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const main = new URL("../src/main.ts", import.meta.url).pathname;
const env = { ...process.env, DATABASE_URL: "" };

test("agentd start runs the demo workflow on the embedded store and prints its journal", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-start-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { stdout } = await run(process.execPath, [main, "start", "--data", dir], { env });
  assert.match(stdout, /started run [0-9a-f-]{36} of workflow "demo.onboard"/);
  assert.match(stdout, /finished in \d+ ms with \{"plan":\["greet ada",.*"approvedBy":"operator"/);
  for (const line of ["#1 step   plan", "#4 sleep  cool-down", "#5 event  approval", "#6 invoke demo.summarize"]) assert.ok(stdout.includes(line), line);
  assert.ok(existsSync(join(dir, "agentd.db")));
  // A second start adds a run to the same store: the data folder persists.
  const again = await run(process.execPath, [main, "--data", dir], { env });
  assert.match(again.stdout, /4 runs in .* so far \(4 completed\)/, "two demo runs and their two child runs");
});

test("agentd --help describes the commands; a bad DATABASE_URL is one clear line and exit 1", async () => {
  const { stdout } = await run(process.execPath, [main, "--help"], { env });
  assert.match(stdout, /Usage: agentd \[start\]/);
  assert.match(stdout, /DATABASE_URL/);
  const bad = await run(process.execPath, [main], { env: { ...env, DATABASE_URL: "postgres://nobody@127.0.0.1:1/x" } }).then(
    () => assert.fail("should exit 1"),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  assert.match(bad.stderr, /^agentd: cannot use Postgres at 127\.0\.0\.1:1 \(database x\): connection refused/);
  const unknown = await run(process.execPath, [main, "fly"], { env }).catch((e: { code: number; stderr: string }) => e);
  assert.equal((unknown as { code: number }).code, 2);
});
