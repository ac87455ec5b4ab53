/**
 * SSH over HTTPS proper: the tunnel's WebSocket over TLS (wss://), to agentd's relay behind an HTTPS
 * server (as behind a reverse proxy) and to Debian's websockify serving TLS only; a relay whose
 * certificate is not trusted is refused before any SSH byte is sent.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import tls from "node:tls";
import { AgentdError } from "../../src/errors.ts";
import { relayUpgrade } from "../../src/ssh/relay.ts";
import { testAgentd } from "../support/app.ts";
import { sqlite } from "../support/backends.ts";
import { SSHD, startSshd } from "../support/sshd.ts";
import { startWebsockify, WEBSOCKIFY } from "../support/websockify.ts";

const skip = !existsSync(SSHD)
  ? "no sshd (apt-get install openssh-server); ssh tests skip"
  : !existsSync(WEBSOCKIFY)
    ? "no websockify (apt-get install websockify); tunnel tests skip"
    : false;
const TOKEN = "tunnel-token-0123456789abcdef";

/** A self-signed certificate for 127.0.0.1 (openssl), as PEM files. */
function certificate(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "pipe" },
  );
  return { cert, key };
}

/** agentd's relay behind an HTTPS server on 127.0.0.1: what a TLS reverse proxy in front of `agentd relay` gives. */
async function httpsRelay(t: { after(fn: () => unknown): void }, pem: { cert: string; key: string }, sshPort: number) {
  const upgrade = relayUpgrade({ tokens: [TOKEN], sshPort, path: "/ssh" });
  const server = createServer({ cert: readFileSync(pem.cert), key: readFileSync(pem.key) }, (_req, res) =>
    res.writeHead(404).end(),
  );
  server.on("upgrade", (req, socket, head) => {
    if (!upgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  t.after(
    () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
        upgrade.closeTunnels();
      }),
  );
  return `wss://127.0.0.1:${(server.address() as { port: number }).port}/ssh`;
}

describe("ssh over a WebSocket over TLS (wss://)", { skip }, () => {
  test("through agentd's relay behind HTTPS and through websockify with TLS only; an untrusted certificate refused", {
    timeout: 120_000,
  }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "agentd-tls-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const trusted = certificate(dir, "trusted");
    const stranger = certificate(dir, "stranger");
    // This process trusts the first certificate as the machine would trust a CA it was given.
    const before = tls.getCACertificates("default");
    tls.setDefaultCACertificates([...before, readFileSync(trusted.cert, "utf8")]);
    t.after(() => tls.setDefaultCACertificates(before));

    const sshd = await startSshd(t);
    const relayUrl = await httpsRelay(t, trusted, sshd.port);
    const wsfy = await startWebsockify(t, sshd.port, TOKEN, trusted);
    const strangeUrl = await httpsRelay(t, stranger, sshd.port);
    assert.match(wsfy.url, /^wss:/);
    const hostOf = (u: string) => new URL(u).host;
    const { app, tenantId } = await testAgentd(t, sqlite, {
      noModel: true,
      config: { net: { allowPrivate: false, allowHosts: [relayUrl, wsfy.url, strangeUrl].map(hostOf) } },
    });
    const scope = app.tenants.scope(tenantId);
    const base = { address: "tunnelled.example", user: sshd.user, fingerprint: sshd.fingerprint, tunnelToken: TOKEN };

    const viaRelay = await app.ssh.addHost(scope, { ...base, name: "via-relay", tunnelUrl: relayUrl });
    assert.equal(viaRelay.confirmed, true, "the host key read through the TLS tunnel is sshd's");
    sshd.authorize(viaRelay.publicKey);
    const r = await app.ssh.exec(scope, "via-relay", "echo over-tls; exit 5", "r", {
      timeoutMs: 15_000,
      maxBytes: 100,
    });
    assert.deepEqual([r.exitCode, r.stdout], [5, "over-tls\n"]);

    await app.ssh.addHost(scope, { ...base, name: "via-websockify", tunnelUrl: wsfy.url });
    const w = await app.ssh.exec(scope, "via-websockify", "echo websockify-tls", "r", {
      timeoutMs: 15_000,
      maxBytes: 100,
    });
    assert.deepEqual([w.exitCode, w.stdout], [0, "websockify-tls\n"]);

    await assert.rejects(
      app.ssh.addHost(scope, { ...base, name: "stranger", tunnelUrl: strangeUrl }),
      (e: unknown) =>
        AgentdError.is(e, "ssh_failed") && /tunnel .* failed: .*self.signed certificate/i.test((e as Error).message),
    );
    assert.equal(await app.ssh.hosts(scope).then((h) => h.some((x) => x.name === "stranger")), false);
  });
});
