import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { test } from "node:test";
import { cleanEnv, MAIN } from "../support/cli.ts";

const ROOT = new URL("../../../../", import.meta.url).pathname;
/** The node flags of the bin's first line (`#!/usr/bin/env -S node <flags>`). */
const shebangFlags = () => {
  const first = readFileSync(MAIN, "utf8").split("\n")[0] ?? "";
  const m = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)$/.exec(first);
  assert.ok(m, `main.js's first line runs node through env -S: ${first}`);
  return (m[1] as string).trim().split(" ").filter(Boolean);
};

const GROW =
  'const a = []; for (let i = 0; i < 3e6; i++) a.push({ i }); v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size';

const V8_WORKERS =
  'fs.readdirSync("/proc/self/task").filter((t) => fs.readFileSync("/proc/self/task/" + t + "/comm", "utf8").trim() === "V8Worker").length';

test("npm start runs the bin with the node flags of its first line", () => {
  const flags = shebangFlags();
  // The young generation's cap is what keeps 10,000 tenants under 200 MB (bench/agent.ts --only density).
  assert.ok(flags.includes("--max-semi-space-size=8"), `flags: ${flags.join(" ")}`);
  // One V8 background thread: four kept their compilers' freed memory in arenas of their own (idle RSS).
  assert.ok(flags.includes("--v8-pool-size=1"), `flags: ${flags.join(" ")}`);
  const start = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")).scripts.start as string;
  assert.equal(start, ["node", ...flags, "packages/agentd/src/main.js"].join(" "));
});

test("the bin runs as an executable through its first line: node takes its flags", () => {
  // As `npm install -g` or a package's bin link runs it: the kernel reads the first line, env -S splits it.
  const env = cleanEnv({ PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` });
  const r = spawnSync(MAIN, ["--help"], { env, encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: agentd/);
  // The same line, with a script that allocates 3 million objects, shows the flag reaches V8: its
  // young generation stays within two 8 MB semi-spaces (by default it grew to 128 MB here).
  const probe = spawnSync("/usr/bin/env", ["-S", `node ${shebangFlags().join(" ")}`, "-p", GROW], {
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(probe.status, 0, probe.stderr);
  assert.ok(Number(probe.stdout) <= 16 * 2 ** 20, `new space ${probe.stdout}`);
  // And node's platform runs one V8 worker thread (named V8Worker; four by default).
  const threads = spawnSync("/usr/bin/env", ["-S", `node ${shebangFlags().join(" ")}`, "-p", V8_WORKERS], {
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(threads.status, 0, threads.stderr);
  assert.equal(Number(threads.stdout), 1, `V8 worker threads: ${threads.stdout}`);
});
