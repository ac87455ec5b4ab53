// `agentd start` and the command line's shape, as a person meets them: real processes, real ports.
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { NO_MODEL_HINT } from "../src/agent/model.ts";
import { cleanEnv, freePort, MAIN, tempDir } from "./support/cli.ts";

const COMMANDS = ["start", "serve", "worker", "chat", "doctor", "tenants", "runs", "schedules", "migrate", "vault"];

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's output until it exits; kills it and fails after `timeoutMs`. */
async function finish(child: ChildProcessWithoutNullStreams, timeoutMs = 30_000): Promise<Result> {
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

function agentd(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  const child = spawn(process.execPath, [MAIN, ...args], { env });
  child.stdin.end();
  return finish(child);
}

/** Resolves with stdout so far once a line matches; rejects if the process exits or `timeoutMs` passes first. */
function waitForLine(child: ChildProcessWithoutNullStreams, re: RegExp, timeoutMs: number): Promise<string> {
  let seen = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; stdout so far: ${seen}`)),
      timeoutMs,
    );
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      seen += d;
      if (seen.split("\n").some((l) => re.test(l))) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`agentd exited with ${code} before printing ${re}; stdout: ${seen}`));
    });
  });
}

test("agentd start without a model: one ready line with the hint, /health answers, SIGTERM closes it with exit 0", async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const env = cleanEnv({ AGENTD_PORT: String(port) });
  const child = spawn(process.execPath, [MAIN, "start", "--data", dir], { env });
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  let all = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdout.setEncoding("utf8").on("data", (d: string) => (all += d));
  const stdout = await waitForLine(child, /^agentd ready at /, 10_000);
  const url = `http://127.0.0.1:${port}`;
  assert.equal(stdout.split("\n")[0], `agentd ready at ${url} (sqlite ${join(dir, "agentd.db")}); ${NO_MODEL_HINT}`);

  const health = await fetch(`${url}/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { ok: boolean }).ok, true);

  // The first start says where the admin token is, never the token itself.
  const tokenFile = join(dir, "admin.token");
  const token = readFileSync(tokenFile, "utf8").trim();
  assert.ok(token.length >= 16);
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  // Written with the ready line, so here (after a request's round trip) for sure.
  assert.equal(
    all.split("\n")[1],
    `admin token written to ${tokenFile} (mode 0600): \`agentd chat\` reads it from there; API clients send it as Authorization: Bearer <token>`,
  );
  assert.ok(!all.includes(token), "the token is never printed");

  child.kill("SIGTERM");
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 0, `exit code; stderr: ${stderr}`);
  // stderr holds the access log only: one JSON line per request.
  const logged = stderr
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; method: string; path: string; status: number; tenant: string });
  assert.deepEqual(
    logged.map((l) => [l.msg, l.method, l.path, l.status, l.tenant]),
    [["request", "GET", "/health", 200, "-"]],
    `stderr: ${stderr}`,
  );
  assert.ok(
    existsSync(join(dir, "agentd.db")) && existsSync(join(dir, "os.db")) && existsSync(join(dir, "master.key")),
  );

  // A second start on the same folder: same ready line, no token line (it is not new).
  const again = spawn(process.execPath, [MAIN, "--data", dir], { env });
  t.after(() => again.kill("SIGKILL"));
  const out = await waitForLine(again, /^agentd ready at /, 10_000);
  again.kill("SIGINT");
  const [code2] = (await once(again, "exit")) as [number | null];
  assert.equal(code2, 0);
  assert.doesNotMatch(out, /admin token/);
});

test("agentd start: a bad DATABASE_URL, a taken port and a bad master key are each one line on stderr and exit 1", async (t) => {
  const dir = tempDir(t);
  const bad = await agentd(["start", "--data", dir], cleanEnv({ DATABASE_URL: "postgres://nobody@127.0.0.1:1/x" }));
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /^agentd: cannot use Postgres at 127\.0\.0\.1:1 \(database x\): connection refused/);

  const taken = createServer().listen(0, "127.0.0.1");
  await once(taken, "listening");
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const busy = await agentd(["start", "--data", dir], cleanEnv({ AGENTD_PORT: String(port) }));
  assert.equal(busy.code, 1);
  assert.equal(
    busy.stderr,
    `agentd: cannot listen on 127.0.0.1:${port}: the port is in use (another agentd?); stop that process or set AGENTD_PORT to another port\n`,
  );

  const key = await agentd(["start", "--data", dir], cleanEnv({ AGENTD_MASTER_KEY: "too-short" }));
  assert.equal(key.code, 1);
  assert.equal(key.stderr.trim().split("\n").length, 1, key.stderr);
  assert.match(key.stderr, /^agentd: AGENTD_MASTER_KEY is not a master key: .*openssl rand -base64 32/);
});

test("agentd --help lists every command, each command has its own --help, unknown ones exit 2", async () => {
  const env = cleanEnv();
  const top = await agentd(["--help"], env);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^agentd: /);
  for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${c}\\b`, "m"), `--help lists ${c}`);
  assert.match(top.stdout, /DATABASE_URL/);

  await Promise.all(
    COMMANDS.map(async (c) => {
      const r = await agentd([c, "--help"], env);
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, new RegExp(`^Usage: agentd ${c}\\b`), c);
      assert.match(r.stdout, /--data <dir>/, c);
      const same = await agentd(["help", c], env);
      assert.equal(same.stdout, r.stdout, `agentd help ${c}`);
    }),
  );

  const unknown = await agentd(["fly"], env);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, "");
  assert.match(unknown.stderr, /^agentd: unknown command "fly"\n\nagentd: /);
  assert.match(unknown.stderr, /Commands:/);

  const option = await agentd(["start", "--verbose"], env);
  assert.equal(option.code, 2);
  assert.match(
    option.stderr,
    /^agentd start: Unknown option '--verbose'; see `agentd start --help`\n\nUsage: agentd start/,
  );

  const version = await agentd(["--version"], env);
  assert.match(version.stdout, /^agentd \d+\.\d+\.\d+\n$/);
});
