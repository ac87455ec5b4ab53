// `agentd mcp` as real processes on a SQLite data folder.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { cleanEnv, MAIN, tempDir } from "../support/cli.ts";
import { skip } from "../sandbox/rig.ts";
import { MINI_MCP } from "../support/mcp-servers.ts";

async function agentd(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { env });
  child.stdin.end();
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

test("agentd mcp add (stdio after --, HTTP with a header from the vault) / list / test (the stdio server in the sandbox) / remove; a refused variable exits 1 with the reason", {
  skip,
}, async (t) => {
  const data = tempDir(t);
  const env = cleanEnv({ AGENTD_ALLOW_HOSTS: "127.0.0.1:9" });
  const created = await agentd(["tenants", "create", "acme", "--data", data], env);
  const tenant = /created tenant (\S+)/.exec(created.stdout)?.[1] as string;
  assert.ok(tenant, created.stdout + created.stderr);
  const d = ["--tenant", tenant, "--data", data];

  const none = await agentd(["mcp", "list", ...d], env);
  assert.match(none.stdout, /no MCP servers for tenant/);
  const added = await agentd(
    ["mcp", "add", ...d, "mini", "--env", "LOG_LEVEL=debug", "--", "node", "-e", MINI_MCP],
    env,
  );
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /added MCP server mini \(stdio\)/);
  const http = await agentd(
    [
      "mcp",
      "add",
      ...d,
      "remote",
      "--url",
      "http://127.0.0.1:9/mcp",
      "--header",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the CLI's own syntax for a vault reference, not a template
      "Authorization=Bearer ${secret:REMOTE_TOKEN}",
      "--client-id",
      "agentd-remote",
      "--client-secret",
      "REMOTE_CLIENT",
      "--scope",
      "notes",
      "--disabled",
    ],
    env,
  );
  assert.equal(http.code, 0, http.stderr);
  // The client registered beforehand is kept with the definition, its secret by its name in the vault only.
  const db = new DatabaseSync(join(data, "os.db"), { readOnly: true });
  const row = db.prepare("SELECT config FROM os_mcp_servers WHERE name = 'remote'").get() as { config: string };
  db.close();
  assert.deepEqual(JSON.parse(row.config).oauth, {
    clientId: "agentd-remote",
    clientSecret: { secret: "REMOTE_CLIENT" },
    scopes: ["notes"],
  });
  const stray = await agentd(["mcp", "add", ...d, "stray", "--client-id", "x", "--", "node"], env);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--client-id goes with --url/);
  const evil = await agentd(
    ["mcp", "add", ...d, "evil", "--env", "NODE_OPTIONS=--require=/tmp/x.js", "--", "node", "x.js"],
    env,
  );
  assert.equal(evil.code, 1);
  assert.match(evil.stderr, /^agentd: that MCP server definition is not valid: env: NODE_OPTIONS may not be set/);
  const both = await agentd(["mcp", "add", ...d, "both", "--url", "https://x.example/mcp", "--", "node"], env);
  assert.equal(both.code, 2);

  const list = await agentd(["mcp", "list", ...d], env);
  assert.match(list.stdout, /^NAME\s+TRANSPORT\s+ENABLED\s+FROM/);
  assert.match(list.stdout, /\nmini\s+stdio\s+yes\s+tenant\s/);
  // ADDED is a time with its zone ("2026-12-07 07:00:50 +00:00").
  assert.match(list.stdout, /\nremote\s+http\s+no\s+tenant\s+\S+ \S+ [+-]\d\d:\d\d\s+http:\/\/127\.0\.0\.1:9\/mcp\n/);

  const tested = await agentd(["mcp", "test", ...d, "mini"], env);
  assert.equal(tested.code, 0, tested.stderr);
  assert.match(tested.stdout, /^mini: connected, 3 tools\n/);
  assert.match(tested.stdout, /\nspawn_sleep\s+mcp__mini__spawn_sleep\n/);

  assert.equal((await agentd(["mcp", "remove", ...d, "mini"], env)).code, 0);
  const gone = await agentd(["mcp", "remove", ...d, "mini"], env);
  assert.equal(gone.code, 3, "exit code 3: not found");
  assert.match(gone.stderr, /MCP server "mini" not found/);
});
