import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.ts";
import { envMarkdown } from "../src/config/docs.ts";
import { catalogue } from "../src/config/variables.ts";
import { ADMIN, served } from "./support/api.ts";
import { BACKENDS } from "./support/backends.ts";
import { cleanEnv, MAIN, tempDir } from "./support/cli.ts";

const refused = (env: NodeJS.ProcessEnv, message: RegExp) =>
  assert.throws(
    () => loadConfig(env),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, message);
      return true;
    },
  );

/** Runs `agentd <args>` to its end; fails if it takes over `ms` (the /proc mkdir spin ignored SIGTERM). */
async function run(
  args: string[],
  env: NodeJS.ProcessEnv,
  ms = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  clearTimeout(timer);
  assert.notEqual(code, null, `agentd ${args.join(" ")} did not end within ${ms} ms; stderr: ${stderr}`);
  return { code, stdout, stderr };
}

describe("configuration", () => {
  test("a wrong value is refused with a sentence naming the variable; secrets are not echoed; empty is unset", (t) => {
    const data = { AGENTD_DATA: tempDir(t) };
    refused(
      { ...data, AGENTD_PORT: "abc" },
      /^AGENTD_PORT is "abc" not valid: it must be a port number from 0 to 65535$/,
    );
    refused(
      { ...data, AGENTD_PORT: "99999" },
      /^AGENTD_PORT is "99999" not valid: it must be a port number from 0 to 65535$/,
    );
    refused({ ...data, PORT: "-1" }, /^PORT is "-1" not valid/);
    refused(
      { ...data, AGENTD_TIMEZONE: "Mars/Olympus" },
      /^AGENTD_TIMEZONE is "Mars\/Olympus" not valid: it must be an IANA time zone/,
    );
    refused(
      { ...data, AGENTD_APPROVAL_TIMEOUT: "soon" },
      /AGENTD_APPROVAL_TIMEOUT is "soon" not valid: it must be a duration/,
    );
    refused(
      { ...data, AGENTD_ALLOW_PRIVATE_NET: "yes" },
      /AGENTD_ALLOW_PRIVATE_NET is "yes" not valid: it must be 1 \(on\) or 0 \(off\)/,
    );
    refused(
      { ...data, DATABASE_URL: "mysql://u:hunter2@h/db" },
      /^DATABASE_URL is set but not valid: it must be a URL starting with postgres:\/\//,
    );
    refused(
      { ...data, AGENTD_MODEL_BASE_URL: "localhost:11434?key=sk-abc" },
      /^AGENTD_MODEL_BASE_URL is set but not valid: it must be a URL/,
    );
    try {
      loadConfig({
        ...data,
        DATABASE_URL: "mysql://u:hunter2@h/db",
        AGENTD_HISTORY_WINDOW: "0",
        AGENTD_LEASE_MS: "1e4",
      });
      assert.fail("accepted");
    } catch (e) {
      const m = (e as Error).message;
      assert.ok(!m.includes("hunter2"), "a secret variable's value is never in the message");
      assert.match(
        m,
        /AGENTD_HISTORY_WINDOW is "0" not valid: it must be a whole number from 1 to 1000; /,
        "every wrong variable is named at once",
      );
      assert.match(m, /AGENTD_LEASE_MS is "1e4" not valid/);
    }
    const c = loadConfig({
      ...data,
      AGENTD_PORT: "",
      PORT: "9000",
      AGENTD_TIMEZONE: "Europe/Paris",
      AGENTD_ALLOW_PRIVATE_NET: "1",
      AGENTD_LEASE_MS: "5000",
    });
    assert.equal(c.port, 9000, "an empty AGENTD_PORT is unset: PORT applies");
    assert.equal(c.timezone, "Europe/Paris");
    assert.equal(c.net.allowPrivate, true);
    assert.equal(c.leaseMs, 5000);
  });

  test("how long runs are kept reaches the kernel's retention; a wrong age is refused by name", async (t) => {
    refused(
      { AGENTD_RUNS_KEPT: "a while" },
      /^AGENTD_RUNS_KEPT is "a while" not valid: it must be a duration such as "7d" or "36h", or "forever"/,
    );
    assert.deepEqual(loadConfig({}).runsKept, { completed: "7d", cancelled: "7d", failed: "30d" });
    const { createAgentd } = await import("../src/app.ts");
    const app = await createAgentd({
      env: { AGENTD_DATA: tempDir(t), AGENTD_RUNS_KEPT: "forever", AGENTD_FAILED_RUNS_KEPT: "90d" },
      config: { model: { id: "none" } },
      logger: () => {},
    });
    t.after(() => app.close());
    assert.deepEqual(
      app.kernel.retention?.plan.rules.map((r) => r.ages),
      [{ completed: null, cancelled: null, failed: 90 * 86_400_000 }],
    );
  });

  test("reading the configuration writes nothing: the data folder and admin token are made at start", async (t) => {
    const dir = join(tempDir(t), "not-yet");
    const c = loadConfig({ AGENTD_DATA: dir });
    assert.equal(c.adminToken, "");
    assert.equal(existsSync(dir), false, "loadConfig created nothing");
    const { createAgentd } = await import("../src/app.ts");
    const app = await createAgentd({
      env: { AGENTD_DATA: dir },
      config: { model: { id: "none" } },
      worker: false,
      logger: () => {},
    });
    t.after(() => app.close());
    const token = readFileSync(join(dir, "admin.token"), "utf8").trim();
    assert.equal(app.config.adminToken, token);
    assert.equal(loadConfig({ AGENTD_DATA: dir }).adminToken, token, "read back, not made again");
  });

  test("agentd start refuses a wrong setting or a data folder it cannot create in one line, promptly, without a stack", async (t) => {
    const port = await run(["start", "--data", tempDir(t)], cleanEnv({ AGENTD_PORT: "99999" }));
    assert.equal(port.code, 1);
    assert.equal(port.stderr, 'agentd: AGENTD_PORT is "99999" not valid: it must be a port number from 0 to 65535\n');
    const started = Date.now();
    const proc = await run(["start", "--data", "/proc/agentd-data"], cleanEnv({ AGENTD_PORT: "0" }));
    assert.equal(proc.code, 1);
    assert.match(
      proc.stderr,
      /^agentd: cannot create the data folder \/proc\/agentd-data \(ENOENT: that place does not allow new folders\): pass another --data/,
    );
    assert.ok(!proc.stderr.includes("    at "), proc.stderr);
    assert.ok(Date.now() - started < 15_000);
    const chat = await run(["chat", "--data", tempDir(t)], cleanEnv({ AGENTD_PORT: "abc" }));
    assert.equal(chat.code, 1);
    assert.equal(
      chat.stderr,
      'agentd: AGENTD_PORT is "abc" not valid: it must be a port number from 0 to 65535\n',
      "chat names it too",
    );
    const file = join(tempDir(t), "a-file");
    (await import("node:fs")).writeFileSync(file, "");
    const notDir = await run(["migrate", "--data", join(file, "sub")], cleanEnv());
    assert.equal(notDir.code, 1);
    assert.match(
      notDir.stderr,
      /^agentd: cannot create the data folder .*a-file\/sub \(ENOTDIR: a part of the path is a file\)/,
    );
  });

  test("doctor names wrong and unknown settings; help, doctor and the README draw from one list", async (t) => {
    const bad = await run(
      ["doctor", "--data", tempDir(t)],
      cleanEnv({ AGENTD_PORT: "abc", AGENTD_TIMEZONE: "Mars/Olympus" }),
    );
    assert.equal(bad.code, 1);
    assert.match(
      bad.stdout,
      /^FAIL {2}settings {5}AGENTD_PORT is "abc" not valid: it must be a port number from 0 to 65535\nFAIL {2}settings {5}AGENTD_TIMEZONE is "Mars\/Olympus" not valid/,
    );
    const typo = await run(
      ["doctor", "--data", tempDir(t)],
      cleanEnv({ AGENTD_MODLE: "llama3.2", AGENTD_HISTORY_WINDOW: "30" }),
    );
    assert.match(
      typo.stdout,
      /FAIL {2}settings {5}AGENTD_MODLE is not a setting agentd reads \(did you mean AGENTD_MODEL\?\)/,
    );
    const fine = await run(["doctor", "--data", tempDir(t)], cleanEnv({ AGENTD_HISTORY_WINDOW: "30" }));
    assert.match(fine.stdout, /^ok {4}settings {5}valid: AGENTD_HISTORY_WINDOW\n/);

    const help = await run(["help", "settings"], cleanEnv());
    for (const v of catalogue())
      assert.match(help.stdout, new RegExp(`^  ${v.name}\\b`, "m"), `${v.name} is in agentd help settings`);
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const table = /<!-- settings:start -->\n([\s\S]*?)\n<!-- settings:end -->/.exec(readme)?.[1];
    assert.equal(table, envMarkdown(), "the README's settings table is current (regenerate it from envMarkdown())");
    // Every variable the code reads is in the list.
    const { execFileSync } = await import("node:child_process");
    const src = new URL("../src", import.meta.url).pathname;
    const read = new Set(
      execFileSync("grep", ["-rhoE", 'env(\\.|\\[")[A-Z][A-Z0-9_]+', src], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean)
        .map((s) => s.replace(/^env(\.|\[")/, "")),
    );
    const listed = new Set(catalogue().map((v) => v.name as string));
    // Node's own variables, read to behave as Node does with them (documented by Node, not settings of agentd's):
    // with NODE_USE_ENV_PROXY set a model is called through fetch, which then goes through HTTP_PROXY.
    const nodes = new Set(["NODE_USE_ENV_PROXY"]);
    assert.deepEqual(
      [...read].filter((n) => !listed.has(n) && !nodes.has(n)),
      [],
      "variables read but not documented",
    );
  });
});

for (const b of BACKENDS) {
  describe(`tenant settings are checked (${b.name})`, () => {
    test("a time zone that does not exist and tools that do not exist are refused with 400 naming them; new tenants get AGENTD_TIMEZONE", async (t) => {
      const s = await served(t, b, { config: { timezone: "Asia/Tokyo" } });
      const mars = await s.call("POST", "/v1/tenants", {
        token: ADMIN,
        body: { name: "m", settings: { timezone: "Mars/Olympus" } },
      });
      assert.equal(mars.status, 400);
      assert.match(
        mars.body.error.message,
        /timezone "Mars\/Olympus" is not a time zone: use an IANA name such as Europe\/Paris/,
      );
      const tools = await s.call("PATCH", `/v1/tenants/${s.tenantId}`, {
        token: ADMIN,
        body: { settings: { tools: ["remember", "teleport", "fly"] } },
      });
      assert.equal(tools.status, 400);
      assert.match(
        tools.body.error.message,
        /tools names tools that do not exist: teleport, fly; the tools are remember, recall, forget/,
      );
      const zone = await s.call("PATCH", `/v1/tenants/${s.tenantId}`, {
        token: ADMIN,
        body: { settings: { timezone: "Mars/Olympus" } },
      });
      assert.equal(zone.status, 400);
      assert.equal(
        (await s.app.tenants.require(s.tenantId)).settings.timezone,
        "Asia/Tokyo",
        "nothing stored changed; the deployment's zone applied",
      );
      const ok = await s.call("PATCH", `/v1/tenants/${s.tenantId}`, {
        token: ADMIN,
        body: { settings: { tools: ["remember"], timezone: "Europe/Paris" } },
      });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body.settings.tools, ["remember"]);
      const made = await s.call("POST", "/v1/tenants", { token: ADMIN, body: { name: "n" } });
      assert.equal(made.body.tenant.settings.timezone, "Asia/Tokyo");
    });
  });
}
