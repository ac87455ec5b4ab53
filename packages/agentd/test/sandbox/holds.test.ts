import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { runSandboxed } from "../../src/sandbox/run.ts";
import { sandboxUid } from "../../src/sandbox/workspace.ts";
import { processesOf, sandboxFor, sh, skip } from "./rig.ts";

const asRoot = process.geteuid?.() === 0;

test("code runs as an unprivileged uid with no capability, and cannot gain one", { skip }, async (t) => {
  const { sandbox, root } = sandboxFor(t);
  const r = await sh(sandbox, "id -u; grep -E '^(CapEff|CapBnd|CapPrm|NoNewPrivs)' /proc/self/status; touch made");
  assert.equal(r.exit.code, 0, r.stderr);
  const [uid] = r.stdout.split("\n");
  assert.notEqual(Number(uid), 0);
  assert.match(r.stdout, /CapEff:\s+0+\n/);
  assert.match(r.stdout, /CapPrm:\s+0+\n/);
  assert.match(r.stdout, /NoNewPrivs:\s+1/);
  if (asRoot) {
    // No user namespace as root: the uid inside is the real one, the tenant's, never 0.
    assert.equal(Number(uid), sandboxUid("ten_a", "code"));
    assert.match(r.stdout, /CapBnd:\s+0+\n/);
    assert.equal(statSync(join(root, "ten_a", "code", "made")).uid, sandboxUid("ten_a", "code"));
  }
  const su = await sh(sandbox, "su -c id root </dev/null; mount -t tmpfs x /workspace; echo done");
  assert.doesNotMatch(su.stdout, /uid=0/);
  assert.match(su.stderr, /mount|permitted|denied/i);
});

test("reading /etc/shadow, agentd's data and the machine's files fails", { skip }, async (t) => {
  const { sandbox, root } = sandboxFor(t);
  writeFileSync(join(root, "os.db"), "agentd's own data");
  const r = await sh(sandbox, `cat /etc/shadow; cat /etc/passwd; cat ${root}/os.db; ls /root /home /work; echo end`);
  assert.equal(r.stdout, "end\n");
  assert.match(r.stderr, /\/etc\/shadow: No such file/);
  assert.match(r.stderr, /os\.db: No such file/);
});

test("one tenant never sees another's workspace: not by path, not by search, not through /proc", {
  skip,
}, async (t) => {
  const { sandbox, root } = sandboxFor(t);
  const a = await sh(sandbox, "echo tenant-a-secret > secret.txt; sleep 3 & echo written");
  assert.equal(a.exit.code, 0, a.stderr);
  const hostPath = join(root, "ten_a", "code", "secret.txt");
  assert.ok(existsSync(hostPath));
  const b = await sh(
    sandbox,
    `cat ${hostPath}; cat /workspace/../ten_a/code/secret.txt; grep -rs tenant-a-secret / --exclude-dir=proc --exclude-dir=usr --exclude-dir=dev; echo "pids=$(ls /proc | grep -c '^[0-9]')"; ls /workspace`,
    { tenantId: "ten_b" },
  );
  assert.doesNotMatch(b.stdout, /tenant-a-secret/);
  // Its own pid namespace: sh, grep's pipeline and bubblewrap's init; never tenant A's sleep.
  const pids = Number(/pids=(\d+)/.exec(b.stdout)?.[1]);
  assert.ok(pids > 0 && pids < 8, `processes visible: ${pids}`);
  const again = await sh(sandbox, "cat secret.txt");
  assert.equal(again.stdout, "tenant-a-secret\n", "the workspace persists between calls of the same tenant");
  const area = await sh(sandbox, "cat secret.txt", { area: "mcp-x" });
  assert.match(area.stderr, /No such file/, "another area of the same tenant is another folder");
});

test("writing outside the workspace fails; /tmp is private and gone after the call", { skip }, async (t) => {
  const { sandbox, root } = sandboxFor(t);
  const r = await sh(
    sandbox,
    "for p in /usr/x /etc/x /x /opt/agentd/x /run/agentd/x /workspace/../x /proc/sys/kernel/core_pattern; do echo y > $p 2>/dev/null && echo wrote $p; done; echo tmp > /tmp/t && cat /tmp/t",
  );
  assert.equal(r.stdout, "tmp\n");
  assert.deepEqual(readdirSync(root).sort(), [".spawn", "ten_a"].filter((n) => existsSync(join(root, n))).sort());
  const next = await sh(sandbox, "cat /tmp/t");
  assert.match(next.stderr, /No such file/);
});

test("a listener on the machine's 127.0.0.1 cannot be reached: the sandbox has no network", { skip }, async (t) => {
  const { sandbox } = sandboxFor(t);
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.end("hello from the host\n");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const r = await sh(
    sandbox,
    `python3 -c "import socket; s=socket.create_connection(('127.0.0.1', ${port}), timeout=3); print(s.recv(100))"; ip -o link 2>/dev/null || cat /proc/net/dev`,
  );
  assert.notEqual(r.exit.code, null);
  assert.doesNotMatch(r.stdout, /hello from the host/);
  assert.match(r.stderr, /Connection refused|unreachable/i);
  assert.doesNotMatch(r.stdout, /eth|ens|wlan|docker/, "no interface but loopback");
  assert.equal(connections, 0);
});

test("a fork bomb stops at the process limit and is killed whole at the wall clock; other tenants keep running", {
  skip,
}, async (t) => {
  const { sandbox } = sandboxFor(t);
  const started = Date.now();
  // An area of its own: its uid is this test's alone (other files run code as ten_a's "code" area meanwhile).
  const bomb = sh(sandbox, "bomb() { bomb | bomb & }; bomb; sleep 100", {
    area: "bomb",
    limits: { processes: 32, wallMs: 4000 },
  });
  // Meanwhile another tenant's code still starts (its uid's count is its own).
  await new Promise((ok) => setTimeout(ok, 1500));
  const other = await sh(sandbox, "echo alive", { tenantId: "ten_b" });
  assert.equal(other.stdout, "alive\n", other.stderr);
  const r = await bomb;
  assert.equal(r.exit.reason, "timeout");
  assert.ok(Date.now() - started < 15_000);
  if (asRoot) {
    await namespaceEmptied(sandboxUid("ten_a", "bomb"));
    assert.deepEqual(processesOf(sandboxUid("ten_a", "bomb")), [], "no process of the tenant survives");
  }
});

test("an infinite loop ends at its CPU limit, and at the wall clock with its whole tree", { skip }, async (t) => {
  const { sandbox } = sandboxFor(t);
  const cpu = await sh(sandbox, "python3 -c 'while True: pass'", { limits: { cpuSeconds: 1, wallMs: 20_000 } });
  assert.equal(cpu.exit.reason, "exit");
  assert.notEqual(cpu.exit.code, 0, "killed by SIGXCPU");
  assert.ok(cpu.durationMs < 15_000);
  // An area of its own: its uid is this test's alone (other files run code as ten_a's "code" area meanwhile).
  const wall = await sh(sandbox, "(setsid sh -c 'while :; do :; done' &); sleep 1000 & while :; do :; done", {
    area: "loop",
    limits: { cpuSeconds: 100, wallMs: 1500 },
  });
  assert.equal(wall.exit.reason, "timeout");
  assert.equal(wall.exit.signal, "SIGKILL");
  if (asRoot) {
    await namespaceEmptied(sandboxUid("ten_a", "loop"));
    assert.deepEqual(processesOf(sandboxUid("ten_a", "loop")), [], "the detached loop died with the sandbox");
  }
});

test("a 4 GB allocation fails inside, in Python and in Node", { skip }, async (t) => {
  const { sandbox } = sandboxFor(t);
  const py = await sh(sandbox, "python3 -c 'b = bytearray(4 * 1024**3); print(len(b))'");
  assert.notEqual(py.exit.code, 0);
  assert.match(py.stderr, /MemoryError/);
  const js = await sh(sandbox, "node -e 'const b = Buffer.alloc(4 * 1024 ** 3, 1); console.log(b.length)'");
  assert.notEqual(js.exit.code, 0);
  assert.doesNotMatch(js.stdout, /4294967296/);
});

test("a 10 GB file stops at the file-size limit, not at a full disk", { skip }, async (t) => {
  const { sandbox, root } = sandboxFor(t);
  const r = await sh(sandbox, "dd if=/dev/zero of=big bs=1M count=10240", { limits: { fileBytes: 8 * 1024 * 1024 } });
  assert.notEqual(r.exit.code, 0);
  assert.ok(statSync(join(root, "ten_a", "code", "big")).size <= 8 * 1024 * 1024);
  assert.ok(r.durationMs < 20_000);
  const tmp = await sh(sandbox, "dd if=/dev/zero of=/tmp/big bs=1M count=10240 2>&1 | grep dd:", {
    limits: { fileBytes: 10 * 1024 ** 3, tmpBytes: 4 * 1024 * 1024 },
  });
  assert.match(tmp.stdout, /No space left|File too large/i, "/tmp is a small tmpfs");
});

test("allowed work succeeds: Python computing, a Node script, a shell pipeline", { skip }, async (t) => {
  const { sandbox } = sandboxFor(t);
  const py = await sh(
    sandbox,
    "python3 -c 'import math, json; print(json.dumps([math.comb(40, 20), sum(i*i for i in range(1000))]))'",
  );
  assert.equal(py.stdout, "[137846528820, 332833500]\n", py.stderr);
  const js = await sh(sandbox, "", {
    command: ["node", "@files/main.mjs"],
    files: {
      "main.mjs":
        "import { createHash } from 'node:crypto';\nconsole.log(createHash('sha256').update('abc').digest('hex'));\n",
    },
  });
  assert.equal(js.stdout, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n", js.stderr);
  const pipe = await sh(sandbox, "seq 1 100 | awk '$1 % 7 == 0' | sort -rn | head -3 | tr '\\n' ,");
  assert.equal(pipe.stdout, "98,91,84,");
  const input = await runSandboxed(
    sandbox,
    { tenantId: "ten_a", area: "code", command: ["sort", "-u"] },
    { input: "b\na\nb\n" },
  );
  assert.equal(input.stdout, "a\nb\n", "stdin reaches the code");
});

test("the kernel's riskier doors are shut: no new user namespace, no setns, keyring, eBPF or io_uring", {
  skip,
}, async (t) => {
  const { sandbox } = sandboxFor(t);
  const r = await sh(sandbox, "unshare -Ur id; unshare -n true; echo end");
  assert.equal(r.stdout, "end\n");
  assert.match(r.stderr, /unshare failed: Operation not permitted/);
  if (process.arch !== "x64") return;
  // setns, keyctl, bpf, io_uring_setup: each answers EPERM (1); clone3 ENOSYS (38), and libc falls back.
  const calls = await sh(
    sandbox,
    `python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for nr in (308, 250, 321, 425, 435):
    libc.syscall(nr, 0, 0, 0, 0)
    print(nr, ctypes.get_errno())
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
print('forked')
"`,
  );
  assert.equal(calls.stdout, "308 1\n250 1\n321 1\n425 1\n435 38\nforked\n", calls.stderr);
});

test("output is capped (the rest drained, not blocking the code), and the environment is only what the spec gives", {
  skip,
}, async (t) => {
  const { sandbox } = sandboxFor(t);
  const big = await runSandboxed(
    sandbox,
    { tenantId: "ten_a", area: "code", command: ["sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' x; echo done >&2"] },
    { maxOutputBytes: 1000 },
  );
  assert.equal(big.exit.code, 0, "the code ran to its end");
  assert.equal(big.stdout, "x".repeat(1000));
  assert.equal(big.stderr, "done\n");
  assert.equal(big.truncated, true);

  process.env.AGENTD_PLANTED_SECRET = "planted-in-agentd";
  t.after(() => delete process.env.AGENTD_PLANTED_SECRET);
  const env = await sh(sandbox, "env | sort", { env: { GIVEN: "by-the-spec" } });
  assert.doesNotMatch(env.stdout, /planted-in-agentd|AGENTD_/);
  assert.match(env.stdout, /^GIVEN=by-the-spec$/m);
  assert.match(env.stdout, /^HOME=\/workspace$/m);
  await assert.rejects(sh(sandbox, "true", { env: { "BAD NAME": "x" } }), /not a variable name/);
  await assert.rejects(sh(sandbox, "true", { cwd: "../ten_b" }), /inside the workspace/);
});

/** The kernel empties a pid namespace as its init dies, which can end a moment after bwrap itself. */
async function namespaceEmptied(uid: number): Promise<void> {
  const until = Date.now() + 2_000;
  while (processesOf(uid).length && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}
