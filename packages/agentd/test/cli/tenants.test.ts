// `agentd tenants`: everything the operator's API does for tenants, from the command line, on both stores.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BACKENDS } from "../support/backends.ts";
import { cli, placeEnv } from "./run.ts";

for (const b of BACKENDS) {
  describe(`agentd tenants (${b.name})`, () => {
    test("create, show, rename, settings, keys, identities, list --json and delete, with exit codes scripts rely on", async (t) => {
      const env = placeEnv(t, b);
      const made = await cli(env, "tenants", "create", "acme");
      assert.equal(made.code, 0, made.stderr);
      const id = /created tenant (\S+)/.exec(made.stdout)?.[1] as string;

      const renamed = await cli(env, "tenants", "rename", id, "Acme Inc");
      assert.equal(renamed.stdout, `tenant ${id} is now named Acme Inc\n`);
      const set = await cli(env, "tenants", "settings", id, "timezone=Europe/Paris", "runsPerMinute=30");
      assert.equal(set.code, 0, set.stderr);
      assert.deepEqual([JSON.parse(set.stdout).timezone, JSON.parse(set.stdout).runsPerMinute], ["Europe/Paris", 30]);
      const bad = await cli(env, "tenants", "settings", id, "runsPerMinute=0");
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^agentd: invalid settings: runsPerMinute: /);
      const notPair = await cli(env, "tenants", "settings", id, "timezone");
      assert.equal(notPair.code, 2);
      assert.match(notPair.stderr, /"timezone" is not name=value/);
      const shown = await cli(env, "tenants", "show", id, "--json");
      assert.deepEqual(
        [JSON.parse(shown.stdout).name, JSON.parse(shown.stdout).settings.runsPerMinute],
        ["Acme Inc", 30],
      );
      const human = await cli(env, "tenants", "show", id);
      assert.match(
        human.stdout,
        new RegExp(`^tenant ${id}: Acme Inc, created \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d\\d:\\d\\d\\n`),
      );

      const key = await cli(env, "tenants", "key", id, "--json");
      const keyId = JSON.parse(key.stdout).id as string;
      const keys = await cli(env, "tenants", "keys", id);
      assert.match(keys.stdout, new RegExp(`^ID +PREFIX +CREATED +REVOKED\\n${keyId} .* -\\n$`));
      assert.equal((await cli(env, "tenants", "revoke", id, keyId)).code, 0);
      const revoked = JSON.parse((await cli(env, "tenants", "keys", id, "--json")).stdout).keys;
      assert.equal(revoked[0].id, keyId);
      assert.equal(typeof revoked[0].revokedAt, "number");
      assert.ok(!JSON.stringify(revoked).includes(JSON.parse(key.stdout).key), "a key is never listed");

      assert.equal((await cli(env, "tenants", "bind", id, "telegram", "4242", "--display", "Ann")).code, 0);
      const ids = await cli(env, "tenants", "identities", id, "--json");
      assert.deepEqual(
        JSON.parse(ids.stdout).identities.map((x: { channel: string; externalId: string; display: string }) => [
          x.channel,
          x.externalId,
          x.display,
        ]),
        [["telegram", "4242", "Ann"]],
      );
      assert.equal((await cli(env, "tenants", "unbind", id, "telegram", "4242")).code, 0);
      assert.match((await cli(env, "tenants", "identities", id)).stdout, /^no identities bound/);

      const listed = JSON.parse((await cli(env, "tenants", "list", "--json")).stdout).tenants;
      assert.deepEqual(
        listed.map((x: { id: string; name: string }) => [x.id, x.name]),
        [[id, "Acme Inc"]],
      );

      const unsure = await cli(env, "tenants", "delete", id);
      assert.equal(unsure.code, 2, "deleting needs --yes");
      assert.match(unsure.stderr, /cannot be undone: add --yes/);
      // A heartbeat is a schedule of the tenant's: deleting removes it first, with progress on stderr.
      assert.equal((await cli(env, "tenants", "settings", id, "heartbeat=0 9 * * *")).code, 0);
      const deleted = await cli(env, "tenants", "delete", id, "--yes");
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(deleted.stdout, `deleted tenant ${id}\n`);
      assert.equal(deleted.stderr, "  schedules removed: 1 / 1\n");
      assert.equal(
        JSON.parse((await cli(env, "schedules", "--json")).stdout).schedules.length,
        0,
        "its heartbeat is gone",
      );
      const gone = await cli(env, "tenants", "show", id);
      assert.equal(gone.code, 3, "not found: exit code 3");
      assert.equal(gone.stderr, `agentd: tenant ${id} not found\n`);
      assert.equal((await cli(env, "tenants", "rename", "ten_nobody", "x")).code, 3);
      assert.equal((await cli(env, "tenants", "delete", "ten_nobody", "--yes")).code, 3);
    });
  });
}
