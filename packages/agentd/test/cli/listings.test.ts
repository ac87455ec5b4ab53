// --json on the listings of the commands that open the store themselves (mcp, connections, bots, ssh),
// and on those a fresh tenant has nothing in yet (memory, webhooks and deliveries, sessions, blobs,
// usage, workers): the API's answer, empty.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BACKENDS } from "../support/backends.ts";
import { cli, placeEnv } from "./run.ts";

for (const b of BACKENDS) {
  describe(`listings as JSON (${b.name})`, () => {
    test("mcp, connections, connections apps, bots and ssh hosts print what the API answers with --json", async (t) => {
      const env = placeEnv(t, b);
      const made = await cli(env, "tenants", "create", "acme");
      const id = /created tenant (\S+)/.exec(made.stdout)?.[1] as string;
      const T = ["--tenant", id];
      const json = async (...argv: string[]) => {
        const r = await cli(env, ...argv, "--json");
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout);
      };
      assert.deepEqual(await json("mcp", "list", ...T), { servers: [] });
      assert.deepEqual(await json("connections", ...T), { connections: [] });
      assert.deepEqual(await json("connections", "apps", ...T), { apps: [] });
      assert.deepEqual(await json("bots"), { bots: [] });
      const key = await cli(env, "ssh", "key", ...T);
      assert.equal(key.code, 0, key.stderr);
      const ssh = await json("ssh", "hosts", "list", ...T);
      assert.deepEqual(ssh.hosts, []);
      assert.deepEqual(
        ssh.keys.map((k: { name: string }) => k.name),
        ["default"],
      );
      assert.match(JSON.stringify(ssh.keys), /ssh-ed25519 /);
      assert.ok(!JSON.stringify(ssh).includes("PRIVATE"), "never a private key");
    });

    test("memory, webhooks and their deliveries, sessions, blobs, usage and workers print the API's answer with --json", async (t) => {
      const env = { ...placeEnv(t, b), AGENTD_ALLOW_HOSTS: "127.0.0.1:9" };
      const made = await cli(env, "tenants", "create", "acme");
      const T = ["--tenant", /created tenant (\S+)/.exec(made.stdout)?.[1] as string];
      const json = async (...argv: string[]) => {
        const r = await cli(env, ...argv, "--json");
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout);
      };
      assert.deepEqual(await json("memory", ...T), { memories: [] });
      const hook = await json("webhooks", "add", ...T, "http://127.0.0.1:9/hook");
      assert.deepEqual((await json("webhooks", ...T)).webhooks, [hook.webhook]);
      assert.deepEqual(await json("webhooks", "deliveries", ...T, hook.webhook.id), { deliveries: [] });
      assert.deepEqual(await json("sessions", ...T), { sessions: [] });
      assert.deepEqual(await json("blobs", ...T), { blobs: [] });
      const usage = await json("usage", ...T);
      assert.deepEqual([usage.days, usage.today.tokens, usage.remainingToday], [[], 0, null]);
      assert.deepEqual(await json("workers"), { workers: [] }, "no agentd runs on this store");
    });
  });
}
