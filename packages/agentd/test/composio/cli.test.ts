/**
 * `agentd composio` on the store (the real SDK against the stand-in of Composio's API): list (with
 * --json), connect (a Connect Link), remove; a tenant without any key is told how to set one up.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { sqlite } from "../support/backends.ts";
import { testAgentd } from "../support/app.ts";
import { cleanEnv, MAIN } from "../support/cli.ts";
import { startComposioServer } from "../support/composio-server.ts";

const PUBLIC_URL = "http://127.0.0.1:9";

describe("agentd composio (the CLI)", () => {
  test("list, connect and remove a tenant's Composio accounts; no key: how to set one up", async (t) => {
    const composio = await startComposioServer();
    t.after(() => composio.close());
    const config = { apiKey: "ck_operator", baseURL: composio.url, versions: {} };
    const s = await testAgentd(t, sqlite, {
      config: { composio: config, connections: { apps: [], linkTtl: "1h", publicUrl: PUBLIC_URL } },
      worker: false,
    });
    const tenant = (await s.app.tenants.create("cli")).id;
    const run = (env: Record<string, string>, ...args: string[]) =>
      promisify(execFile)(
        process.execPath,
        [MAIN, "composio", ...args, "--tenant", tenant, "--data", s.place.dataDir],
        { env: cleanEnv(env) },
      ).then(
        (r) => r.stdout,
        (e: { stdout: string; stderr: string; code: number }) => `exit ${e.code}: ${e.stdout}${e.stderr}`,
      );
    const env = {
      AGENTD_COMPOSIO_API_KEY: "ck_operator",
      AGENTD_COMPOSIO_BASE_URL: composio.url,
      AGENTD_PUBLIC_URL: PUBLIC_URL,
    };
    assert.match(await run({}, "list"), /^Composio is not set up for this tenant: .*AGENTD_COMPOSIO_API_KEY/);
    assert.match(await run(env, "list"), /^no Composio accounts for tenant/);
    const printed = await run(env, "connect", "github");
    assert.match(printed, /^open this link as the person whose github account to connect through Composio:\n/);
    const link = printed.split("\n")[1] as string;
    await s.app.composio.accounts.complete(new URL(await composio.complete(link)));
    const [account] = [...composio.accounts.values()];
    assert.match(
      await run(env, "list"),
      new RegExp(`^TOOLKIT\\s+STATUS\\s+ID[\\s\\S]*github\\s+ACTIVE\\s+${account?.id}`, "m"),
    );
    const json = JSON.parse(await run(env, "list", "--json"));
    assert.deepEqual(
      {
        enabled: json.enabled,
        accounts: json.accounts.map((a: { toolkit: string; status: string }) => [a.toolkit, a.status]),
      },
      { enabled: true, accounts: [["github", "ACTIVE"]] },
    );
    assert.doesNotMatch(JSON.stringify(json), /gho_/);
    assert.match(
      await run(env, "remove", "ca_not_mine"),
      /^exit 3: agentd: this tenant has no Composio account ca_not_mine/,
    );
    assert.match(await run(env, "remove", account?.id as string), /^removed the github account ca_\w+ from Composio/);
    assert.equal(composio.accounts.size, 0);
  });
});
