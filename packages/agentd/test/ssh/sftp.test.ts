/**
 * ssh_file against Debian's sshd: a blob of the tenant's uploaded by SFTP and the file read back as a
 * new blob, the size limit on a download, another tenant's blob refused; and a pooled connection
 * closed once idle.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AgentdError } from "../../src/errors.ts";
import { SshService } from "../../src/ssh/service.ts";
import { sshFileTool } from "../../src/tools/ssh/files.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import { SSHD, startSshd } from "../support/sshd.ts";
import { until } from "../support/wait.ts";
import { ctxOf } from "./stored.ts";

const skip = existsSync(SSHD) ? false : "no sshd (apt-get install openssh-server); ssh tests skip";

for (const b of BACKENDS) {
  describe(`ssh_file and idle connections against Debian's sshd (${b.name})`, { skip }, () => {
    test("SFTP through the blob store: a blob uploaded, the file downloaded back as a blob; over the limit and another tenant's blob refused", {
      timeout: 120_000,
    }, async (t) => {
      const sshd = await startSshd(t);
      const { app, tenantId } = await testAgentd(t, b, {
        noModel: true,
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
      sshd.authorize(added.publicKey);
      const tool = sshFileTool(app.ssh, app.blobs, 4096);
      const ctx = ctxOf(app, scope, "r1");
      const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
      const blob = await app.blobs.put(tenantId, bytes, { mime: "application/octet-stream", name: "data.bin" });
      const remote = join(sshd.dir, "uploaded.bin");

      const up = (await tool.run({ host: "box", direction: "upload", path: remote, blobId: blob.id }, ctx)) as {
        uploaded: string;
        bytes: number;
      };
      assert.deepEqual(up, { uploaded: remote, bytes: 3000 });
      assert.deepEqual(readFileSync(remote), bytes, "the file on the host is the blob, byte for byte");

      const down = (await tool.run({ host: "box", direction: "download", path: remote }, ctx)) as {
        blob: { id: string; name?: string };
      };
      assert.notEqual(down.blob.id, blob.id);
      const back = await app.blobs.get(tenantId, down.blob.id);
      assert.deepEqual(Buffer.from(back!.data), bytes, "downloaded back as a blob of the tenant's");
      assert.equal(back!.attachment.name, "uploaded.bin");

      writeFileSync(join(sshd.dir, "big.bin"), Buffer.alloc(5000, 1));
      await assert.rejects(
        tool.run({ host: "box", direction: "download", path: join(sshd.dir, "big.bin") }, ctx),
        (e: unknown) => AgentdError.is(e, "media_too_large") && /5000 bytes, over the limit of 4096/.test(String(e)),
      );
      await assert.rejects(
        tool.run({ host: "box", direction: "download", path: join(sshd.dir, "missing.bin") }, ctx),
        (e: unknown) => AgentdError.is(e, "not_found"),
      );

      const other = (await app.tenants.create("other")).id;
      const theirs = await app.blobs.put(other, Buffer.from("not yours"), { mime: "text/plain" });
      await assert.rejects(
        tool.run({ host: "box", direction: "upload", path: join(sshd.dir, "x"), blobId: theirs.id }, ctx),
        (e: unknown) => AgentdError.is(e, "not_found"),
      );
      assert.equal(existsSync(join(sshd.dir, "x")), false, "another tenant's blob is never written");
    });

    test("a pooled connection is closed once idle, and the next command opens a new one", {
      timeout: 120_000,
    }, async (t) => {
      const sshd = await startSshd(t);
      const net = { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`] };
      const { app, tenantId } = await testAgentd(t, b, { noModel: true, config: { net } });
      const scope = app.tenants.scope(tenantId);
      const ssh = new SshService({ vault: app.vault, net, now: Date.now, pool: { idleMs: 300 } });
      t.after(() => ssh.close());
      const added = await ssh.addHost(scope, {
        name: "box",
        address: "127.0.0.1",
        port: sshd.port,
        user: sshd.user,
        fingerprint: sshd.fingerprint,
      });
      sshd.authorize(added.publicKey);
      // The sshd process serving a connection is a child of the listener: its own pid per connection.
      const served = async () =>
        (await ssh.exec(scope, "box", "echo $PPID", "r", { timeoutMs: 10_000, maxBytes: 100 })).stdout.trim();
      const first = await served();
      assert.equal(await served(), first, "reused while in use");
      assert.equal(ssh.pool.size, 1);
      await until(() => ssh.pool.size === 0, "the idle connection closed", 10_000);
      await sleep(100);
      const second = await served();
      assert.notEqual(second, first, "a new connection (another sshd session process)");
    });
  });
}
