import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { AgentdError } from "../../src/errors.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { SSHD, startSshd } from "../support/sshd.ts";
import { ctxOf } from "./stored.ts";

const skip = existsSync(SSHD) ? false : "no sshd (apt-get install openssh-server); ssh tests skip";
const OTHER = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

for (const b of BACKENDS) {
  describe(`ssh hosts against Debian's sshd (${b.name})`, { skip }, () => {
    test("a host is added with the key it presents, runs nothing until confirmed, then runs commands with exit status and stderr", async (t) => {
      const sshd = await startSshd(t);
      const { app, tenantId } = await testAgentd(t, b, {
        config: { net: { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`] } },
      });
      const scope = app.tenants.scope(tenantId);
      const added = await app.ssh.addHost(scope, {
        name: "box",
        address: "127.0.0.1",
        port: sshd.port,
        user: sshd.user,
      });
      assert.equal(added.presented.fingerprint, sshd.fingerprint, "the fingerprint ssh-keygen prints");
      assert.equal(added.presented.type, "ssh-ed25519");
      assert.equal(added.confirmed, false);
      assert.match(added.publicKey, /^ssh-ed25519 AAAA[A-Za-z0-9+/]+=* agentd-default$/);
      sshd.authorize(added.publicKey);
      await assert.rejects(
        app.ssh.exec(scope, "box", "true", "r1", { timeoutMs: 5000, maxBytes: 1000 }),
        (e: unknown) => AgentdError.is(e, "conflict") && /not confirmed yet/.test((e as Error).message),
      );
      await assert.rejects(app.ssh.confirmHost(scope, "box", OTHER), (e: unknown) =>
        AgentdError.is(e, "host_key_mismatch"),
      );
      const pinned = await app.ssh.confirmHost(scope, "box", sshd.fingerprint);
      assert.equal(pinned.fingerprint, sshd.fingerprint);
      assert.equal(pinned.pendingFingerprint, null);

      const r = await app.ssh.exec(scope, "box", "echo hi; echo oops >&2; exit 3", "r1", {
        timeoutMs: 10_000,
        maxBytes: 1000,
      });
      assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.truncated, r.timedOut], [3, "hi\n", "oops\n", false, false]);
      const again = await app.ssh.exec(scope, "box", "whoami", "r1", { timeoutMs: 10_000, maxBytes: 1000 });
      assert.equal(again.stdout.trim(), sshd.user);
      assert.equal(app.ssh.pool.size, 1, "the run's connection was reused");
      await app.ssh.exec(scope, "box", "true", "r2", { timeoutMs: 10_000, maxBytes: 1000 });
      assert.equal(app.ssh.pool.size, 2, "another run gets its own connection");
    });

    test("a host whose key is not the pinned one is refused with both fingerprints, before any key is offered", async (t) => {
      const sshd = await startSshd(t);
      const { app, tenantId } = await testAgentd(t, b, {
        config: { net: { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`] } },
      });
      const scope = app.tenants.scope(tenantId);
      const added = await app.ssh.addHost(scope, {
        name: "box",
        address: "127.0.0.1",
        port: sshd.port,
        user: sshd.user,
        fingerprint: sshd.fingerprint,
      });
      assert.equal(added.confirmed, true, "the fingerprint given with the request matched: pinned at once");
      sshd.authorize(added.publicKey);
      await scope.run("UPDATE os_ssh_hosts SET fingerprint = ? WHERE tenant_id = $tenant AND name = ?", [OTHER, "box"]);
      await assert.rejects(
        app.ssh.exec(scope, "box", "touch should-not-exist", "r", { timeoutMs: 5000, maxBytes: 100 }),
        (e: unknown) => {
          assert.ok(AgentdError.is(e, "host_key_mismatch"));
          assert.match((e as Error).message, /REFUSED/);
          assert.ok(
            (e as Error).message.includes(sshd.fingerprint) && (e as Error).message.includes(OTHER),
            "both fingerprints",
          );
          return true;
        },
      );
      await assert.rejects(
        app.ssh.addHost(scope, {
          name: "b2",
          address: "127.0.0.1",
          port: sshd.port,
          user: sshd.user,
          fingerprint: OTHER,
        }),
        (e: unknown) => AgentdError.is(e, "host_key_mismatch") && (e as Error).message.includes(sshd.fingerprint),
      );
      assert.equal(
        (await app.ssh.pinnedHost(scope, "box").catch((e: Error) => e.message)).toString().includes("b2"),
        false,
      );
    });

    test("timeout, output cap and an imported key with a passphrase", async (t) => {
      const sshd = await startSshd(t);
      const { app, tenantId } = await testAgentd(t, b, {
        config: { net: { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`] } },
      });
      const scope = app.tenants.scope(tenantId);
      const keyFile = join(sshd.dir, "imported");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "pass phrase", "-f", keyFile]);
      await assert.rejects(
        app.ssh.keys.import(scope, "mine", readFileSync(keyFile, "utf8"), "wrong"),
        /could not be read with that passphrase/,
      );
      const info = await app.ssh.keys.import(scope, "mine", readFileSync(keyFile, "utf8"), "pass phrase");
      assert.equal(
        info.publicKey.split(" ").slice(0, 2).join(" "),
        readFileSync(`${keyFile}.pub`, "utf8").split(" ").slice(0, 2).join(" "),
      );
      sshd.authorize(readFileSync(`${keyFile}.pub`, "utf8"));
      await app.ssh.addHost(scope, {
        name: "box",
        address: "127.0.0.1",
        port: sshd.port,
        user: sshd.user,
        key: "mine",
        fingerprint: sshd.fingerprint,
      });

      const started = Date.now();
      const slow = await app.ssh.exec(scope, "box", "echo started; sleep 60", "r", { timeoutMs: 8000, maxBytes: 1000 });
      assert.equal(slow.timedOut, true);
      assert.equal(slow.stdout, "started\n");
      // (root's shell start-up on this machine can take seconds: the bound is the timeout, not the sleep)
      assert.ok(Date.now() - started < 20_000, "stopped at the timeout, not after the sleep");
      const chunks: string[] = [];
      const big = await app.ssh.exec(scope, "box", "head -c 300000 /dev/zero | tr '\\0' a; echo done >&2", "r", {
        timeoutMs: 10_000,
        maxBytes: 1000,
        onOutput: (s, d) => s === "stdout" && chunks.push(d),
      });
      assert.equal(big.stdout, "a".repeat(1000));
      assert.equal(big.stderr, "done\n");
      assert.equal(big.truncated, true);
      assert.equal(big.exitCode, 0);
      assert.equal(chunks.join("").length, 300000, "every chunk was streamed as it came");
    });

    test("the agent's confirm shows where the host is, and pins nothing when the host was re-added elsewhere since", async (t) => {
      const sshd = await startSshd(t);
      const { app, tenantId } = await testAgentd(t, b, {
        noModel: true,
        config: { net: { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`, `localhost:${sshd.port}`] } },
      });
      const scope = app.tenants.scope(tenantId);
      const ctx = ctxOf(app, scope, "r");
      const add = app.tools.get("ssh_host_add")!;
      const confirm = app.tools.get("ssh_host_confirm")!;
      const first = (await add.run({ name: "web1", address: "127.0.0.1", port: sshd.port, user: sshd.user }, ctx)) as {
        at: string;
      };
      const at = `${sshd.user}@127.0.0.1:${sshd.port}`;
      assert.equal(first.at, at);
      const args = { name: "web1", fingerprint: sshd.fingerprint, at };
      assert.equal(confirm.subject?.(args), `pin host key ${sshd.fingerprint} for web1 at ${at}`);
      // Re-added elsewhere (same name) before the person's approval is acted on: the approval named the old place.
      await add.run({ name: "web1", address: "localhost", port: sshd.port, user: sshd.user }, ctx);
      await assert.rejects(
        confirm.run(args, ctx),
        (e: unknown) =>
          AgentdError.is(e, "conflict") &&
          (e as Error).message.includes(`is ${sshd.user}@localhost:${sshd.port}, not ${at}`),
      );
      assert.equal((await app.ssh.hosts(scope))[0]?.fingerprint, null, "nothing pinned");
      const done = (await confirm.run({ ...args, at: `${sshd.user}@localhost:${sshd.port}` }, ctx)) as {
        pinned: string;
      };
      assert.equal(done.pinned, sshd.fingerprint);
    });

    test("two tenants: neither sees the other's hosts, and one's key never logs in as the other's", async (t) => {
      const sshd = await startSshd(t);
      const { app, tenantId } = await testAgentd(t, b, {
        config: { net: { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`] } },
      });
      const a = app.tenants.scope(tenantId);
      const other = app.tenants.scope((await app.tenants.create("other")).id);
      const host = {
        name: "box",
        address: "127.0.0.1",
        port: sshd.port,
        user: sshd.user,
        fingerprint: sshd.fingerprint,
      };
      const added = await app.ssh.addHost(a, host);
      sshd.authorized([added.publicKey]);
      assert.equal((await app.ssh.exec(a, "box", "echo a", "r", { timeoutMs: 5000, maxBytes: 100 })).stdout, "a\n");
      await assert.rejects(
        app.ssh.exec(other, "box", "echo b", "r", { timeoutMs: 5000, maxBytes: 100 }),
        (e: unknown) => AgentdError.is(e, "not_found"),
      );
      const theirs = await app.ssh.addHost(other, host);
      assert.notEqual(theirs.publicKey, added.publicKey, "each tenant has its own key");
      await assert.rejects(
        app.ssh.exec(other, "box", "echo b", "r", { timeoutMs: 5000, maxBytes: 100 }),
        (e: unknown) => AgentdError.is(e, "ssh_failed") && /authentication/i.test((e as Error).message),
      );
      assert.deepEqual(
        (await app.ssh.keys.list(other)).map((k) => k.publicKey),
        [theirs.publicKey],
      );
      await assert.rejects(
        app.vault.reader(a).get("sys.ssh.key.default"),
        /reserved for agentd's own use/,
        "no tool reads a private key",
      );
    });
  });
}
