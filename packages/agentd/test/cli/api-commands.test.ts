// The commands that do what the rest of the operator's API does: sessions (and following one),
// runs follow, schedules add and ticks, blobs, usage, workers, mcp enable/disable/test and a tenant's own
// OAuth apps, on a running agentd's store, with --json and exit codes.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { served, waitFor } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { agentd } from "../support/cli.ts";
import { cli, envOf } from "./run.ts";

for (const b of BACKENDS) {
  describe(`the rest of the API from the CLI (${b.name})`, () => {
    test("sessions list, show and follow; runs follow; usage and workers; blobs upload, list and get", async (t) => {
      const s = await served(t, b);
      const env = envOf(s.place);
      const T = ["--tenant", s.tenantId];
      const json = async (...argv: string[]) => {
        const r = await cli(env, ...argv, "--json");
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout);
      };

      s.model.script({ text: "First answer." });
      const first = await s.call("POST", "/v1/messages", { body: { text: "hello", conversation: "desk" } });
      await s.app.kernel.result(first.body.runId);
      const sessionId = first.body.sessionId as string;

      const listed = await json("sessions", ...T);
      assert.deepEqual(
        listed.sessions.map((x: { id: string; channel: string; conversation: string }) => [x.id, x.conversation]),
        [[sessionId, "desk"]],
      );
      const table = await cli(env, "sessions", ...T);
      assert.match(table.stdout, new RegExp(`^ID +CHANNEL +CONVERSATION +STARTED +LAST\\n${sessionId} +http +desk +`));
      assert.match(table.stdout, / \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d\n$/, "times with their zone");
      const shown = await json("sessions", "show", ...T, sessionId);
      assert.deepEqual(
        shown.messages.map((m: { role: string; content: string }) => [m.role, m.content]),
        [
          ["user", "hello"],
          ["assistant", "First answer."],
        ],
      );
      const last = shown.messages.at(-1).seq as number;
      assert.equal((await cli(env, "sessions", "show", ...T, "ses_nope")).code, 3, "not found: exit code 3");
      assert.equal((await cli(env, "sessions", ...T, "--limit", "x")).code, 2, "a usage mistake: exit code 2");

      // Following: what is stored after the last message seen, as it comes, from another writer.
      s.model.script({ text: "Second answer." });
      const followed = cli(
        env,
        "sessions",
        "follow",
        ...T,
        sessionId,
        "--after",
        String(last),
        "--limit",
        "2",
        "--json",
      );
      const second = await s.call("POST", "/v1/messages", { body: { text: "again", conversation: "desk" } });
      const f = await followed;
      assert.equal(f.code, 0, f.stderr);
      assert.deepEqual(
        f.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l))
          .map((m: { role: string; content: string }) => [m.role, m.content]),
        [
          ["user", "again"],
          ["assistant", "Second answer."],
        ],
      );
      await s.app.kernel.result(second.body.runId);

      // A run's stream: the text on stdout, the end and its exit code.
      const run = await cli(env, "runs", "follow", second.body.runId);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "Second answer.\n");
      const events = (await cli(env, "runs", "follow", second.body.runId, "--json")).stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).event);
      assert.ok(events.includes("text") && events.at(-1) === "done", events.join(","));
      assert.equal((await cli(env, "runs", "follow", "run_nope")).code, 3);
      // A run that ends without answering (cancelled while it waits for an approval): exit code 1.
      assert.equal((await s.call("PUT", "/v1/policies", { body: { tool: "remember", decision: "ask" } })).status, 200);
      s.model.script({ text: "Noting it.", toolCalls: [{ name: "remember", arguments: { content: "x" } }] });
      const asking = await s.call("POST", "/v1/messages", { body: { text: "note x", conversation: "desk" } });
      await waitFor(async () => (await s.call("GET", "/v1/approvals")).body.approvals.length === 1, "the approval");
      assert.equal((await cli(env, "runs", "cancel", asking.body.runId)).code, 0);
      const cancelled = await cli(env, "runs", "follow", asking.body.runId);
      assert.equal(cancelled.code, 1, `${cancelled.stdout}${cancelled.stderr}`);
      assert.equal(cancelled.stdout, "Noting it.\n");
      assert.match(cancelled.stderr, /\[approval\] remember[\s\S]*\[error\] run \S+ was cancelled/);

      const usage = await json("usage", ...T);
      assert.ok(usage.today.modelCalls >= 2, JSON.stringify(usage));
      assert.match(
        (await cli(env, "usage", ...T)).stdout,
        /no daily token budget[\s\S]*DAY +TOKENS +MODEL CALLS\n\d{4}-\d\d-\d\d UTC/,
      );
      const workers = await json("workers");
      assert.ok(
        workers.workers.some((w: { workflows: Record<string, string> }) => "agent.turn" in w.workflows),
        JSON.stringify(workers),
      );

      const file = join(s.place.dataDir, "note.txt");
      await writeFile(file, "a note for the agent\n");
      const up = await json("blobs", "upload", ...T, file);
      assert.deepEqual([up.mime, up.size, up.name], ["text/plain", 21, "note.txt"]);
      const blobs = await json("blobs", ...T);
      assert.deepEqual(
        blobs.blobs.map((x: { id: string }) => x.id),
        [up.id],
      );
      const copy = join(s.place.dataDir, "copy.txt");
      const got = await cli(env, "blobs", "get", ...T, up.id, "--out", copy);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(await readFile(copy, "utf8"), "a note for the agent\n");
      assert.equal((await cli(env, "blobs", "get", ...T, "blob_nope", "--out", copy)).code, 3);
      assert.equal((await cli(env, "blobs", "upload", ...T, join(s.place.dataDir, "x.unknown"))).code, 2);
    });

    test("schedules add (a reminder, a recurring job) and ticks; mcp enable and disable; a tenant's own OAuth app added from stdin and removed", async (t) => {
      const s = await served(t, b);
      const env = { ...envOf(s.place), AGENTD_ALLOW_HOSTS: "127.0.0.1:9" };
      const T = ["--tenant", s.tenantId];

      const reminder = await cli(
        env,
        "schedules",
        "add",
        ...T,
        "--at",
        "2099-05-01T09:00:00+02:00",
        "water",
        "the",
        "plants",
      );
      assert.equal(reminder.code, 0, reminder.stderr);
      assert.match(reminder.stdout, /^reminder (\S+) at 2099-05-01 \d\d:00:00 [+-]\d\d:\d\d\n$/);
      const job = await cli(
        env,
        "schedules",
        "add",
        ...T,
        "--cron",
        "0 9 * * *",
        "--timezone",
        "Europe/Paris",
        "standup",
        "--json",
      );
      assert.equal(job.code, 0, job.stderr);
      const made = JSON.parse(job.stdout);
      assert.deepEqual(
        [made.kind, made.prompt, made.cron, made.timezone],
        ["recurring", "standup", "0 9 * * *", "Europe/Paris"],
      );
      const listed = JSON.parse((await cli(env, "schedules", ...T, "--json")).stdout).schedules;
      assert.deepEqual(listed.map((x: { kind: string; what: string }) => [x.kind, x.what]).sort(), [
        ["recurring", "standup"],
        ["reminder", "water the plants"],
      ]);
      assert.deepEqual(JSON.parse((await cli(env, "schedules", "ticks", made.id, "--json")).stdout), { ticks: [] });
      const past = await cli(env, "schedules", "add", ...T, "--at", "2001-01-01T00:00:00Z", "too late");
      assert.equal(past.code, 1);
      assert.match(past.stderr, /in the past/);
      assert.equal((await cli(env, "schedules", "add", ...T, "no time")).code, 2);
      assert.equal((await cli(env, "schedules", "ticks", "nope")).code, 3);

      const added = await cli(env, "mcp", "add", ...T, "remote", "--url", "http://127.0.0.1:9/mcp");
      assert.equal(added.code, 0, added.stderr);
      const enabled = async () =>
        JSON.parse((await cli(env, "mcp", "list", ...T, "--json")).stdout).servers.find(
          (x: { name: string }) => x.name === "remote",
        ).enabled;
      assert.equal(
        (await cli(env, "mcp", "disable", ...T, "remote")).stdout,
        `disabled MCP server remote of tenant ${s.tenantId}\n`,
      );
      assert.equal(await enabled(), false);
      assert.equal((await cli(env, "mcp", "enable", ...T, "remote")).code, 0);
      assert.equal(await enabled(), true);
      assert.equal((await cli(env, "mcp", "enable", ...T, "nothing")).code, 3);
      const untested = await cli(env, "mcp", "test", ...T, "nothing");
      assert.equal(untested.code, 3, "not found: exit code 3");
      assert.match(untested.stderr, /^agentd: MCP server "nothing" of tenant \S+ not found\n$/);

      const app = {
        clientId: "acme-client",
        clientSecret: "s3cret-value",
        issuer: "https://login.example.com",
        scopes: ["read"],
      };
      const put = await agentd(["connections", "apps", "add", ...T, "acme"], env, JSON.stringify(app));
      assert.equal(put.code, 0, put.stderr);
      assert.match(put.stdout, /added app acme/);
      const apps = await cli(env, "connections", "apps", ...T, "--json");
      assert.deepEqual(
        JSON.parse(apps.stdout).apps.map((a: { name: string; owner: string }) => [a.name, a.owner]),
        [["acme", "tenant"]],
      );
      assert.ok(!apps.stdout.includes("s3cret-value"), "the client secret is never listed");
      const file = join(s.place.dataDir, "app.json");
      await writeFile(file, "{not json");
      assert.equal((await cli(env, "connections", "apps", "add", ...T, "broken", "--file", file)).code, 2);
      await writeFile(file, "{}");
      const invalid = await cli(env, "connections", "apps", "add", ...T, "broken", "--file", file);
      assert.equal(invalid.code, 1);
      assert.match(invalid.stderr, /not valid: clientId/);
      assert.equal((await cli(env, "connections", "apps", "remove", ...T, "acme")).code, 0);
      assert.deepEqual(JSON.parse((await cli(env, "connections", "apps", ...T, "--json")).stdout).apps, []);
      assert.equal((await cli(env, "connections", "apps", "remove", ...T, "acme")).code, 3);
    });
  });
}
