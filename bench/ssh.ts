/**
 * SSH benchmark: what agentd adds to a command's round trip beyond a raw ssh2 exec on the same host,
 * directly and through the WebSocket tunnel (agentd's relay). One JSON object per line on stdout,
 * progress on stderr.
 *
 *     node bench/ssh.ts [--quick] [--n 30]
 *
 * Debian's sshd is started on 127.0.0.1 (a free port, its own host key) as the tests start it. Each
 * measurement alternates a raw exec (ssh2 Client, connected once, `exec("true")`) with the same
 * command through agentd (the `ssh` tool's body: the host row read, the pinned pooled connection,
 * output capture and redaction), so drift in the machine's load falls on both alike; the overhead is
 * the per-pair difference.
 *
 *  - ssh_raw_exec / ssh_agentd_exec: p50/p99 ms of each, direct.
 *  - ssh_overhead: agentd minus raw per pair, p50/p99 ms, direct.
 *  - the same three with `_tunnel`: both through agentd's relay (ws:// on 127.0.0.1).
 *  - ssh_cold_connect: a new connection's handshake and first command (pinned key checked, the key
 *    read from the vault), p50 ms, direct and tunnelled.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import ssh2 from "ssh2";
import { createAgentd } from "../packages/agentd/src/app.ts";
import { vaultNames } from "../packages/agentd/src/ssh/hosts.ts";
import { startRelay } from "../packages/agentd/src/ssh/relay.ts";
import { openTunnel } from "../packages/agentd/src/ssh/tunnel.ts";
import type { ToolContext } from "../packages/agentd/src/tools/types.ts";
import { startSshd } from "../packages/agentd/test/support/sshd.ts";

const { values: argv } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    n: { type: "string", default: "" },
    help: { type: "boolean", short: "h" },
  },
});
if (argv.help) {
  process.stderr.write("usage: node bench/ssh.ts [--quick] [--n 30]\n");
  process.exit(0);
}
const N = Number(argv.n || (argv.quick ? 8 : 30));
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs: number[], p: number) =>
  round([...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * xs.length) - 1)] ?? Number.NaN);
const emit = (metric: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ bench: "ssh", metric, ...fields }));
const progress = (s: string) => process.stderr.write(`[ssh] ${s}\n`);
const stats = (xs: number[]) => ({ n: xs.length, p50_ms: pct(xs, 0.5), p99_ms: pct(xs, 0.99) });

const cleanups: (() => unknown)[] = [];
const t = { after: (fn: () => unknown) => void cleanups.push(fn) };
const dir = mkdtempSync(join(tmpdir(), "agentd-bench-ssh-"));
cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

try {
  const sshd = await startSshd(t);
  const TOKEN = "bench-relay-token-0123456789";
  const relay = await startRelay({ tokens: [TOKEN], sshPort: sshd.port, path: "/ssh" });
  cleanups.push(() => relay.close());
  const relayHost = new URL(relay.url).host;
  const net = { allowPrivate: false, allowHosts: [`127.0.0.1:${sshd.port}`, relayHost] };
  const app = await createAgentd({
    env: { AGENTD_MASTER_KEY: Buffer.alloc(32, 7).toString("base64") },
    config: { dataDir: dir, model: { id: "none" }, net },
    worker: false,
    logger: () => {},
  });
  cleanups.unshift(() => app.close());
  const tenantId = (await app.tenants.create("bench")).id;
  const scope = app.tenants.scope(tenantId);
  const base = { address: "127.0.0.1", port: sshd.port, user: sshd.user, fingerprint: sshd.fingerprint };
  const added = await app.ssh.addHost(scope, { ...base, name: "direct" });
  await app.ssh.addHost(scope, { ...base, name: "tunnel", tunnelUrl: relay.url, tunnelToken: TOKEN });
  sshd.authorize(added.publicKey);
  const tool = app.tools.get("ssh")!;
  const privateKey = (await app.vault.get(scope, vaultNames.key("default")))!;
  const ctx = (runId: string): ToolContext => ({
    tenant: scope,
    sessionId: null,
    runId,
    callId: "bench",
    now: Date.now(),
    timezone: "UTC",
    signal: new AbortController().signal,
    secrets: app.vault.reader(scope),
    redact: (s) => s,
    services: app.deps.services,
  });

  const rawClient = async (tunnel: boolean) => {
    const c = new ssh2.Client();
    const sock = tunnel ? await openTunnel(relay.url, TOKEN, net, { timeoutMs: 15_000 }) : undefined;
    await new Promise<void>((resolve, reject) => {
      c.once("ready", () => resolve());
      c.once("error", reject);
      c.connect({
        ...(sock ? { sock } : { host: "127.0.0.1", port: sshd.port }),
        username: sshd.user,
        privateKey,
        readyTimeout: 30_000,
      });
    });
    return c;
  };
  const rawExec = (c: ssh2.Client) =>
    new Promise<void>((resolve, reject) =>
      c.exec("true", (err, ch) => {
        if (err) return reject(err);
        ch.resume();
        ch.stderr.resume();
        ch.once("close", () => resolve());
      }),
    );

  for (const tunnel of [false, true]) {
    const sfx = tunnel ? "_tunnel" : "";
    const host = tunnel ? "tunnel" : "direct";
    progress(`${host}: ${N} pairs`);
    const raw = await rawClient(tunnel);
    await rawExec(raw);
    await tool.run({ host, command: "true" }, ctx(`warm-${host}`)); // the pooled connection opened
    const r: number[] = [];
    const a: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < N; i++) {
      let s = performance.now();
      await rawExec(raw);
      const rawMs = performance.now() - s;
      s = performance.now();
      const out = (await tool.run({ host, command: "true" }, ctx(`warm-${host}`))) as { exitCode: number };
      const agentdMs = performance.now() - s;
      if (out.exitCode !== 0) throw new Error(`the command failed: ${JSON.stringify(out)}`);
      r.push(rawMs);
      a.push(agentdMs);
      d.push(agentdMs - rawMs);
    }
    raw.end();
    emit(`ssh_raw_exec${sfx}`, stats(r));
    emit(`ssh_agentd_exec${sfx}`, stats(a));
    emit(`ssh_overhead${sfx}`, { ...stats(d), note: "agentd minus raw ssh2, per alternating pair" });
    const cold: number[] = [];
    for (let i = 0; i < Math.max(3, Math.floor(N / 5)); i++) {
      const s = performance.now();
      await tool.run({ host, command: "true" }, ctx(`cold-${host}-${i}`));
      cold.push(performance.now() - s);
    }
    emit(`ssh_cold_connect${sfx}`, {
      ...stats(cold),
      note: "handshake (JS crypto), pin checked, key from the vault, first command",
    });
  }
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
