// `agentd ssh hosts add|confirm|list|remove` against Debian's sshd on 127.0.0.1, on both stores:
// the fingerprint the host presents, printed and kept unconfirmed; a wrong one refused; pinned by
// confirm or by --fingerprint; removed; exit codes for what does not exist.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { BACKENDS } from "../support/backends.ts";
import { SSHD, startSshd } from "../support/sshd.ts";
import { cli, placeEnv } from "./run.ts";

const skip = existsSync(SSHD) ? false : "no sshd (apt-get install openssh-server); ssh tests skip";
const OTHER = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

for (const b of BACKENDS) {
  describe(`agentd ssh hosts (${b.name})`, { skip }, () => {
    test("add prints the presented fingerprint and keeps it unconfirmed; confirm pins it (a wrong one is refused); --fingerprint pins at once; remove, then not found", async (t) => {
      const sshd = await startSshd(t);
      const env = { ...placeEnv(t, b), AGENTD_ALLOW_HOSTS: `127.0.0.1:${sshd.port}` };
      const made = await cli(env, "tenants", "create", "acme");
      const T = ["--tenant", /created tenant (\S+)/.exec(made.stdout)?.[1] as string];
      const target = `${sshd.user}@127.0.0.1:${sshd.port}`;

      const added = await cli(env, "ssh", "hosts", "add", ...T, "box", target);
      assert.equal(added.code, 0, added.stderr);
      assert.ok(added.stdout.startsWith(`box presented host key ssh-ed25519 ${sshd.fingerprint}\n`), added.stdout);
      assert.match(added.stdout, /\nnot confirmed: check it on the machine .*agentd ssh hosts confirm /);
      assert.match(added.stdout, /\nssh-ed25519 AAAA\S+ agentd-default\n$/, "the public key to install");
      const pending = JSON.parse((await cli(env, "ssh", "hosts", ...T, "--json")).stdout).hosts;
      assert.deepEqual(
        pending.map((h: { name: string; fingerprint: string | null; pendingFingerprint: string | null }) => [
          h.name,
          h.fingerprint,
          h.pendingFingerprint,
        ]),
        [["box", null, sshd.fingerprint]],
      );
      const table = (await cli(env, "ssh", "hosts", ...T)).stdout;
      assert.match(table, /^NAME +TARGET +HOST KEY +KEY +TUNNEL +ADDED\n/);
      assert.match(table, new RegExp(`\\nbox +\\S+@127\\.0\\.0\\.1:${sshd.port} +unconfirmed SHA256:`));
      assert.match(table, / \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d\n$/, "times with their zone");

      const wrong = await cli(env, "ssh", "hosts", "confirm", ...T, "box", OTHER);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /^agentd: ssh host box presented SHA256:\S+, not SHA256:A+/);
      const pinned = await cli(env, "ssh", "hosts", "confirm", ...T, "box", sshd.fingerprint);
      assert.equal(pinned.stdout, `pinned ${sshd.fingerprint} for box\n`, pinned.stderr);
      assert.equal((await cli(env, "ssh", "hosts", "confirm", ...T, "nothing", sshd.fingerprint)).code, 3);

      const at = await cli(env, "ssh", "hosts", "add", ...T, "box2", target, "--fingerprint", sshd.fingerprint);
      assert.equal(at.code, 0, at.stderr);
      assert.match(at.stdout, /\npinned: every connection to box2 checks this key\n/);
      const refused = await cli(env, "ssh", "hosts", "add", ...T, "box3", target, "--fingerprint", OTHER);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /not the SHA256:A+ you gave/);
      const hosts = JSON.parse((await cli(env, "ssh", "hosts", "list", ...T, "--json")).stdout).hosts;
      assert.deepEqual(hosts.map((h: { name: string; fingerprint: string | null }) => [h.name, h.fingerprint]).sort(), [
        ["box", sshd.fingerprint],
        ["box2", sshd.fingerprint],
        ["box3", null],
      ]);

      assert.equal((await cli(env, "ssh", "hosts", "add", ...T, "box4", "no-user-here")).code, 2);
      assert.equal((await cli(env, "ssh", "hosts", "remove", ...T, "box")).stdout, "removed ssh host box\n");
      const gone = await cli(env, "ssh", "hosts", "remove", ...T, "box");
      assert.equal(gone.code, 3, "not found: exit code 3");
      assert.match(gone.stderr, /^agentd: ssh host "box" of tenant \S+ not found\n$/);
      assert.equal(gone.stdout, "");
    });
  });
}
