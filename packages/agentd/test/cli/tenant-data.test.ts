// `agentd policies`, `approvals`, `memory`, `schedules`, `runs` and `secrets` on a running agentd's
// store: what the API does for a tenant's data, from the command line, with --json and exit codes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import { served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { MAIN } from "../support/cli.ts";
import { cli, envOf } from "./run.ts";

/** `agentd <args>` as a child process, `stdin` piped in. */
async function child(env: NodeJS.ProcessEnv, stdin: string, ...args: string[]) {
  const c = spawn(process.execPath, [MAIN, ...args], { env });
  c.stdin.end(stdin);
  let stdout = "";
  let stderr = "";
  c.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  c.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const [code] = (await once(c, "close")) as [number | null];
  return { code, stdout, stderr };
}

for (const b of BACKENDS) {
  describe(`agentd policies, approvals, memory, schedules, runs, secrets (${b.name})`, () => {
    test("a tool call asked for by a policy set from the CLI is decided from the CLI; memory, schedules and runs are managed and listed as JSON", async (t) => {
      const s = await served(t, b);
      const env = envOf(s.place);
      const T = ["--tenant", s.tenantId];

      const noTenant = await cli(env, "policies", "list");
      assert.equal(noTenant.code, 2);
      assert.match(noTenant.stderr, /^agentd policies list needs --tenant <id>/);
      const set = await cli(env, "policies", "set", ...T, "remember", "ask");
      assert.equal(set.stdout, "remember: ask\n", set.stderr);
      const wrongTool = await cli(env, "policies", "set", ...T, "remembr", "ask");
      assert.equal(wrongTool.code, 1);
      assert.match(wrongTool.stderr, /^agentd: there is no tool named "remembr"/);
      const rules = JSON.parse((await cli(env, "policies", ...T, "--json")).stdout);
      assert.deepEqual(
        rules.policies.map((r: { tool: string; decision: string }) => [r.tool, r.decision]),
        [["remember", "ask"]],
      );

      s.model.script(
        { toolCalls: [{ name: "remember", arguments: { content: "the sky is teal" } }] },
        { text: "Saved." },
      );
      const posted = await s.call("POST", "/v1/messages", { body: { text: "remember the sky" } });
      const pending = await waitFor(async () => {
        const r = await cli(env, "approvals", ...T, "--json");
        return JSON.parse(r.stdout).approvals[0] ?? null;
      }, "the approval, listed by the CLI");
      assert.equal(pending.tool, "remember");
      const table = await cli(env, "approvals", ...T);
      assert.match(
        table.stdout,
        new RegExp(`^ID +TOOL +STATUS +ASKED +EXPIRES +SUBJECT\\n${pending.id} +remember +pending `),
      );
      const decided = await cli(env, "approvals", "decide", ...T, pending.id, "once");
      assert.equal(decided.code, 0, decided.stderr);
      assert.match(decided.stdout, new RegExp(`^${pending.id}: approved; run ${posted.body.runId} goes on`));
      const twice = await cli(env, "approvals", "decide", ...T, pending.id, "deny");
      assert.equal(twice.code, 1);
      assert.match(twice.stderr, /already approved/);
      assert.equal((await cli(env, "approvals", "decide", ...T, "apr_nothing", "deny")).code, 3);
      await waitFor(
        async () => (await s.call("GET", `/v1/runs/${posted.body.runId}`)).body.status === "completed",
        "the turn to finish",
      );

      const found = JSON.parse((await cli(env, "memory", "search", ...T, "sky", "--json")).stdout).memories;
      assert.deepEqual(
        found.map((m: { content: string }) => m.content),
        ["the sky is teal"],
      );
      const added = await cli(env, "memory", "add", ...T, "the", "boat", "is", "red");
      const memId = /^remembered (\S+)\n$/.exec(added.stdout)?.[1] as string;
      assert.ok(memId, added.stdout + added.stderr);
      assert.match((await cli(env, "memory", ...T)).stdout, /^ID +SOURCE +CREATED +CONTENT\n.*the boat is red/s);
      assert.equal((await cli(env, "memory", "delete", ...T, memId)).code, 0);
      assert.equal((await cli(env, "memory", "delete", ...T, memId)).code, 3, "forgotten already: not found");

      const runs = JSON.parse((await cli(env, "runs", ...T, "--json")).stdout).runs;
      const turn = runs.find((r: { id: string }) => r.id === posted.body.runId);
      assert.deepEqual([turn.status, turn.tenant, turn.output.text], ["completed", s.tenantId, "Saved."]);
      const shown = JSON.parse((await cli(env, "runs", "show", posted.body.runId, "--json")).stdout);
      assert.equal(shown.run.id, posted.body.runId);
      assert.ok(shown.journal.some((e: { name: string }) => e.name.startsWith("ask:")));

      const job = await s.call("POST", "/v1/schedules", {
        body: { prompt: "water the plants", cron: "0 9 * * *", timezone: "Europe/Paris" },
      });
      const listed = await cli(env, "schedules", ...T);
      assert.match(
        listed.stdout,
        /0 9 \* \* \* \(Europe\/Paris\) +\d{4}-\d\d-\d\d 09:00:00 Europe\/Paris +water the plants/,
      );
      assert.equal(
        (await cli(env, "schedules", "pause", `job:${job.body.id}`)).code,
        0,
        "the tenant read from the store",
      );
      const paused = JSON.parse((await cli(env, "schedules", ...T, "--json")).stdout).schedules;
      assert.deepEqual(
        paused.map((x: { id: string; paused: boolean }) => [x.id, x.paused]),
        [[`job:${job.body.id}`, true]],
      );
      assert.equal((await cli(env, "schedules", "resume", job.body.id, ...T)).code, 0);
      assert.equal(JSON.parse((await cli(env, "schedules", ...T, "--json")).stdout).schedules[0].paused, false);
      assert.equal((await cli(env, "schedules", "delete", job.body.id)).code, 0);
      assert.equal((await cli(env, "schedules", "--json", ...T)).stdout, '{\n  "schedules": []\n}\n');
      assert.equal((await cli(env, "schedules", "delete", job.body.id)).code, 3);

      assert.equal((await cli(env, "policies", "remove", ...T, "remember")).code, 0);
      assert.equal((await cli(env, "policies", "remove", ...T, "remember")).code, 3);
    });

    test("secrets: set reads the value from stdin, list shows names only, delete; a missing one is exit code 3", async (t) => {
      const s = await served(t, b);
      const env = envOf(s.place);
      const stored = await child(env, "s3cret-value-42\n", "secrets", "set", "--tenant", s.tenantId, "GH_TOKEN");
      assert.equal(stored.code, 0, stored.stderr);
      assert.equal(stored.stdout, `stored secret GH_TOKEN of tenant ${s.tenantId}\n`);
      const empty = await child(env, "", "secrets", "set", "--tenant", s.tenantId, "EMPTY");
      assert.equal(empty.code, 2);
      const listed = await cli(env, "secrets", "--tenant", s.tenantId, "--json");
      assert.deepEqual(
        JSON.parse(listed.stdout).secrets.map((x: { name: string }) => x.name),
        ["GH_TOKEN"],
      );
      assert.ok(!listed.stdout.includes("s3cret"));
      const vault = await s.app.vault.values(s.app.tenants.scope(s.tenantId));
      assert.ok(
        [...vault].some((v) => String(v) === "s3cret-value-42"),
        "stored without its newline",
      );
      assert.equal((await cli(env, "secrets", "delete", "--tenant", s.tenantId, "GH_TOKEN")).code, 0);
      assert.match((await cli(env, "secrets", "--tenant", s.tenantId)).stdout, /^no secrets for tenant/);
      const missing = await cli(env, "secrets", "delete", "--tenant", s.tenantId, "GH_TOKEN");
      assert.equal(missing.code, 3);
      assert.match(missing.stderr, /^agentd: secret "GH_TOKEN" not found/);
    });
  });
}
