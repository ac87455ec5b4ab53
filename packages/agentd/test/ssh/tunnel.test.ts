import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { AgentdError } from "../../src/errors.ts";
import { scanHostKey } from "../../src/ssh/connect.ts";
import { startRelay } from "../../src/ssh/relay.ts";
import { testAgentd } from "../support/app.ts";
import { served } from "../support/api.ts";
import { BACKENDS, sqlite } from "../support/backends.ts";
import { freePort, SSHD, startSshd } from "../support/sshd.ts";
import { startWebsockify, WEBSOCKIFY } from "../support/websockify.ts";

const skip = !existsSync(SSHD)
  ? "no sshd (apt-get install openssh-server); ssh tests skip"
  : !existsSync(WEBSOCKIFY)
    ? "no websockify (apt-get install websockify); tunnel tests skip"
    : false;
const MAIN = fileURLToPath(new URL("../../src/main.js", import.meta.url));
const TOKEN = "tunnel-token-0123456789abcdef";

for (const b of BACKENDS) {
  describe(`ssh over a WebSocket tunnel (${b.name})`, { skip }, () => {
    test("through agentd's relay and through Debian's websockify: the host key pinned end to end, the token checked", async (t) => {
      const sshd = await startSshd(t);
      const relay = await startRelay({ tokens: [TOKEN], sshPort: sshd.port, path: "/ssh" });
      t.after(() => relay.close());
      const wsfy = await startWebsockify(t, sshd.port, TOKEN);
      const hostOf = (u: string) => new URL(u).host;
      const { app, tenantId } = await testAgentd(t, b, {
        config: { net: { allowPrivate: false, allowHosts: [hostOf(relay.url), hostOf(wsfy.url)] } },
      });
      const scope = app.tenants.scope(tenantId);
      // The address is what sshd sees behind the relay; only the tunnel's address is reached from here.
      const base = { address: "tunnelled.example", user: sshd.user, fingerprint: sshd.fingerprint };
      const viaRelay = await app.ssh.addHost(scope, {
        ...base,
        name: "via-relay",
        tunnelUrl: relay.url,
        tunnelToken: TOKEN,
      });
      assert.equal(viaRelay.presented.fingerprint, sshd.fingerprint);
      assert.equal(viaRelay.confirmed, true);
      sshd.authorize(viaRelay.publicKey);
      const r = await app.ssh.exec(scope, "via-relay", "echo through; exit 4", "r", {
        timeoutMs: 15_000,
        maxBytes: 1000,
      });
      assert.deepEqual([r.exitCode, r.stdout], [4, "through\n"]);

      const viaWsfy = await app.ssh.addHost(scope, {
        ...base,
        name: "via-websockify",
        tunnelUrl: wsfy.url,
        tunnelToken: TOKEN,
      });
      assert.equal(viaWsfy.presented.fingerprint, sshd.fingerprint);
      const w = await app.ssh.exec(scope, "via-websockify", "echo websockify >&2", "r", {
        timeoutMs: 15_000,
        maxBytes: 1000,
      });
      assert.deepEqual([w.exitCode, w.stderr], [0, "websockify\n"]);

      for (const url of [relay.url, wsfy.url]) {
        await assert.rejects(
          app.ssh.addHost(scope, { ...base, name: "wrong-token", tunnelUrl: url, tunnelToken: "not-the-token-at-all" }),
          (e: unknown) =>
            AgentdError.is(e, "ssh_failed") && /refused the token \(HTTP 401\)/.test((e as Error).message),
          url,
        );
      }
      const secrets = JSON.stringify(await scope.all("SELECT * FROM os_ssh_hosts WHERE tenant_id = $tenant"));
      assert.equal(secrets.includes(TOKEN), false, "the token is in the vault, not in the hosts' rows");
    });
  });
}

describe("agentd relay", { skip }, () => {
  test("agentd's relay refuses other paths, no token and more tunnels than allowed, and reaches nothing but 127.0.0.1", async (t) => {
    const sshd = await startSshd(t);
    const relay = await startRelay({ tokens: [TOKEN], sshPort: sshd.port, path: "/ssh", maxTunnels: 1 });
    let closed = false;
    t.after(() => (closed ? undefined : relay.close()));
    const { WebSocket } = await import("ws");
    const tunnels: InstanceType<typeof WebSocket>[] = [];
    const status = (url: string, headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, ["binary"], { headers });
        ws.once("open", () => resolve(101));
        tunnels.push(ws);
        ws.once("unexpected-response", (_q, res) => resolve(res.statusCode ?? 0));
        ws.once("error", () => resolve(-1));
        t.after(() => ws.terminate());
      });
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal(await status(relay.url.replace("/ssh", "/other?host=10.0.0.1&port=22"), auth), 404);
    assert.equal(await status(relay.url, {}), 401);
    assert.equal(await status(relay.url, { authorization: `Bearer ${TOKEN}x` }), 401);
    assert.equal(await status(`${relay.url}?host=10.0.0.1&port=25`, auth), 101, "a target in the URL is ignored");
    assert.equal(await status(relay.url, auth), 503, "one tunnel at most here");
    await assert.rejects(startRelay({ tokens: ["short"] }), /16 or more characters/);
    // Closing the relay ends its open tunnel at once (it waited for sshd's two-minute login grace).
    const ended = new Promise<void>((resolve) => tunnels[3]?.once("close", () => resolve()));
    const late = new Promise<string>((resolve) => setTimeout(() => resolve("still open"), 10_000).unref());
    assert.equal(await Promise.race([relay.close().then(() => "closed"), late]), "closed");
    closed = true;
    assert.equal(await Promise.race([ended.then(() => "ended"), late]), "ended");
  });
});

describe("agentd relay, the command", { skip }, () => {
  test("a process forwarding tunnels with the token to the given sshd port: the host key read through it", async (t) => {
    const sshd = await startSshd(t);
    const port = await freePort();
    const proc = spawn(
      process.execPath,
      [MAIN, "relay", "--listen", `127.0.0.1:${port}`, "--ssh-port", String(sshd.port), "--path", "/t"],
      {
        env: { ...process.env, AGENTD_RELAY_TOKEN: `other-token-0123456789,${TOKEN}` },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    t.after(() => proc.kill("SIGKILL"));
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on("data", (d) => String(d).includes("ready") && resolve());
      proc.once("exit", (code) => reject(new Error(`agentd relay exited ${code}`)));
    });
    const net = { allowPrivate: false, allowHosts: [`127.0.0.1:${port}`] };
    const target = { name: "x", address: "ignored", port: 22, user: "u", tunnelUrl: `ws://127.0.0.1:${port}/t` };
    const seen = await scanHostKey(target, TOKEN, { net, timeoutMs: 15_000 });
    assert.equal(seen.fingerprint, sshd.fingerprint);
    await assert.rejects(scanHostKey(target, "wrong-token-0123456789", { net, timeoutMs: 15_000 }), /HTTP 401/);
    await assert.rejects(
      scanHostKey(target, TOKEN, { net: { allowPrivate: false, allowHosts: [] }, timeoutMs: 15_000 }),
      (e: unknown) => AgentdError.is(e, "blocked_address"),
      "the relay's address passes the SSRF guard like any other",
    );
  });
});

describe("agentd's own server as the relay (AGENTD_RELAY_TOKEN)", { skip }, () => {
  test("tunnels with the token at /ssh-relay reach the configured sshd port; other upgrades are refused", async (t) => {
    const sshd = await startSshd(t);
    const api = await served(t, sqlite, { config: { relay: { tokens: [TOKEN], sshPort: sshd.port } } });
    const host = new URL(api.url).host;
    const net = { allowPrivate: false, allowHosts: [host] };
    const target = { name: "x", address: "ignored", port: 22, user: "u", tunnelUrl: `ws://${host}/ssh-relay` };
    assert.equal((await scanHostKey(target, TOKEN, { net, timeoutMs: 15_000 })).fingerprint, sshd.fingerprint);
    await assert.rejects(scanHostKey(target, "wrong-token-0123456789", { net, timeoutMs: 15_000 }), /HTTP 401/);
    await assert.rejects(
      scanHostKey({ ...target, tunnelUrl: `ws://${host}/v1/anything` }, TOKEN, { net, timeoutMs: 15_000 }),
      /HTTP 404/,
    );
    assert.equal((await api.call("GET", "/health")).status, 200, "the API is served alongside");
  });
});
