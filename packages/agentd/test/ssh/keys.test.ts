/**
 * The ed25519 keys agentd makes, read back by ssh2 and by OpenSSH's ssh-keygen, and one whose public
 * key starts with a zero byte logging in to Debian's sshd (ssh2's own generator dropped that byte: one
 * key in 256 it made was malformed).
 */
import assert from "node:assert/strict";
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import ssh2 from "ssh2";
import { ed25519KeyPair, generateKeyPair } from "../../src/ssh/keys.ts";
import { testAgentd } from "../support/app.ts";
import { sqlite } from "../support/backends.ts";
import { SSHD, startSshd } from "../support/sshd.ts";

const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");

/** The public key of a seed, by Node's crypto (independent of the encoder under test). */
const publicOf = (seed: Buffer) =>
  Buffer.from(
    createPublicKey(
      createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: "der", type: "pkcs8" }),
    ).export({ format: "jwk" }).x as string,
    "base64url",
  );

/** The first seed of a fixed sequence whose public key starts with a zero byte (about 1 in 256). */
function zeroLeadingSeed(): Buffer {
  for (let i = 0; ; i++) {
    const seed = createHash("sha256").update(`agentd-seed-${i}`).digest();
    if (publicOf(seed)[0] === 0) return seed;
  }
}

/** Reads a private key as ssh2 does, and checks it signs what its public line verifies. */
function readBack(pair: { privateKey: string; publicKey: string }): void {
  const key = ssh2.utils.parseKey(pair.privateKey);
  assert.ok(!(key instanceof Error), key instanceof Error ? key.message : "");
  const k = Array.isArray(key) ? key[0]! : key;
  assert.equal(k.type, "ssh-ed25519");
  assert.equal(`ssh-ed25519 ${k.getPublicSSH().toString("base64")}`, pair.publicKey.split(" ").slice(0, 2).join(" "));
  const pub = ssh2.utils.parseKey(pair.publicKey);
  assert.ok(!(pub instanceof Error));
  const data = Buffer.from("agentd");
  assert.equal((Array.isArray(pub) ? pub[0]! : pub).verify(data, k.sign(data) as Buffer), true);
}

test("every generated key reads back whole (a thousand of them), in ssh2 and in OpenSSH", (t) => {
  for (let i = 0; i < 1000; i++) readBack(generateKeyPair("agentd-default"));
  const seed = zeroLeadingSeed();
  const pair = ed25519KeyPair(seed, publicOf(seed), "agentd-zero");
  assert.equal(Buffer.from(pair.publicKey.split(" ")[1]!, "base64").readUInt32BE(15), 32, "the 32-byte key whole");
  readBack(pair);
  if (!existsSync("/usr/bin/ssh-keygen")) return t.skip("no ssh-keygen");
  const dir = mkdtempSync(join(tmpdir(), "agentd-key-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "id_ed25519");
  writeFileSync(file, pair.privateKey, { mode: 0o600 });
  assert.equal(execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim(), pair.publicKey);
});

test("a key whose public half starts with a zero byte logs in to Debian's sshd", {
  skip: existsSync(SSHD) ? false : "no sshd (apt-get install openssh-server)",
  timeout: 60_000,
}, async (t) => {
  const sshd = await startSshd(t);
  const { app, tenantId } = await testAgentd(t, sqlite, {
    noModel: true,
    config: { net: { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`] } },
  });
  const scope = app.tenants.scope(tenantId);
  const seed = zeroLeadingSeed();
  const pair = ed25519KeyPair(seed, publicOf(seed), "agentd-zero");
  const info = await app.ssh.keys.import(scope, "zero", pair.privateKey);
  assert.equal(info.publicKey, pair.publicKey);
  sshd.authorize(info.publicKey);
  await app.ssh.addHost(scope, {
    name: "box",
    address: "127.0.0.1",
    port: sshd.port,
    user: sshd.user,
    key: "zero",
    fingerprint: sshd.fingerprint,
  });
  const r = await app.ssh.exec(scope, "box", "echo in", "r", { timeoutMs: 15_000, maxBytes: 100 });
  assert.deepEqual([r.exitCode, r.stdout], [0, "in\n"]);
});
