/**
 * Sandbox benchmark (run_code's bubblewrap sandbox, src/sandbox). One JSON object per line on stdout,
 * progress on stderr.
 *
 *     node bench/sandbox.ts [--quick] [--runs N]
 *
 *  - start_to_first_output: from spawning the sandbox to the first byte the code prints, for Python
 *    (`print(1)`), Node (`console.log(1)`) and shell (`echo 1`), p50/p99 ms; beside it the same
 *    interpreter started directly (no sandbox, no prlimit), so the difference is the sandbox's cost;
 *    and Python with egress on (the guard proxy on its socket, the forwarder on Node inside).
 *  - memory_per_sandbox: PSS and RSS (MB) of every process of one running sandbox (bubblewrap's two,
 *    setpriv/prlimit exec'd away, the interpreter idle), averaged over several running at once; and
 *    bubblewrap's own share.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { probeSandbox } from "../packages/agentd/src/sandbox/probe.ts";
import { runSandboxed } from "../packages/agentd/src/sandbox/run.ts";
import { createSandbox } from "../packages/agentd/src/sandbox/runner.ts";
import type { SandboxProcess } from "../packages/agentd/src/sandbox/types.ts";

const { values: argv } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string", default: "" },
    help: { type: "boolean", short: "h" },
  },
});
if (argv.help) {
  process.stderr.write("usage: node bench/sandbox.ts [--quick] [--runs N]\n");
  process.exit(0);
}
const RUNS = Number(argv.runs || (argv.quick ? 8 : 40));
const RUNNING = argv.quick ? 3 : 8;
const BWRAP = process.env.AGENTD_BWRAP ?? "/usr/bin/bwrap";

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs: number[], p: number) =>
  round([...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * xs.length) - 1)] ?? Number.NaN);
const emit = (metric: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ bench: "sandbox", metric, ...fields }));
const progress = (s: string) => process.stderr.write(`[sandbox] ${s}\n`);

const probe = await probeSandbox(BWRAP, { allowPrivate: false, allowHosts: [] });
if (!probe.ok) {
  progress(`no working sandbox: ${probe.text}`);
  process.exit(1);
}
const root = mkdtempSync(join(tmpdir(), "agentd-bench-sandbox-"));
process.once("exit", () => rmSync(root, { recursive: true, force: true }));
const sandbox = createSandbox({ mode: "bwrap", bwrap: BWRAP, root, net: { allowPrivate: false, allowHosts: [] } });

const LANGS = {
  python: { sandboxed: ["python3", "-c", "print(1)"], direct: ["python3", "-c", "print(1)"] },
  node: { sandboxed: ["node", "-e", "console.log(1)"], direct: [process.execPath, "-e", "console.log(1)"] },
  shell: { sandboxed: ["sh", "-c", "echo 1"], direct: ["/bin/sh", "-c", "echo 1"] },
} as const;

/** Milliseconds from spawn to the first byte on stdout of a process started directly. */
function directFirstOutput(command: readonly string[]): Promise<number> {
  const started = performance.now();
  return new Promise((ok, fail) => {
    const child = spawn(command[0] as string, command.slice(1), {
      stdio: ["ignore", "pipe", "inherit"],
      env: { PATH: "/usr/bin:/bin" },
    });
    let first: number | null = null;
    child.stdout.on("data", () => {
      first ??= performance.now() - started;
    });
    child.on("error", fail);
    child.on("exit", () => (first === null ? fail(new Error(`${command[0]} printed nothing`)) : ok(first)));
  });
}

for (const [lang, c] of Object.entries(LANGS)) {
  progress(`start to first output: ${lang} (${RUNS} runs each, sandboxed and direct)`);
  const boxed: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await runSandboxed(sandbox, { tenantId: "ten_bench", area: "code", command: c.sandboxed });
    if (r.firstOutputMs === null || r.stdout !== "1\n") throw new Error(`${lang} in the sandbox: ${r.stderr}`);
    boxed.push(r.firstOutputMs);
    direct.push(await directFirstOutput(c.direct));
  }
  emit("start_to_first_output", {
    language: lang,
    runs: RUNS,
    p50_ms: pct(boxed, 0.5),
    p99_ms: pct(boxed, 0.99),
    direct_p50_ms: pct(direct, 0.5),
    direct_p99_ms: pct(direct, 0.99),
    overhead_p50_ms: round(pct(boxed, 0.5) - pct(direct, 0.5)),
  });
}

{
  progress("start to first output: python with egress (guard proxy + forwarder)");
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await runSandboxed(sandbox, {
      tenantId: "ten_bench",
      area: "code",
      command: LANGS.python.sandboxed,
      egress: true,
    });
    if (r.firstOutputMs === null) throw new Error(`python with egress: ${r.stderr}`);
    times.push(r.firstOutputMs);
  }
  emit("start_to_first_output", {
    language: "python",
    egress: true,
    runs: RUNS,
    p50_ms: pct(times, 0.5),
    p99_ms: pct(times, 0.99),
  });
}

/** Pids of `pid` and every process below it. */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, "utf8"))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** PSS and RSS in kB of one process (smaps_rollup), and its command name. */
function usage(pid: number): { pss: number; rss: number; comm: string } {
  try {
    const s = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0);
    return { pss: kb("Pss"), rss: kb("Rss"), comm: readFileSync(`/proc/${pid}/comm`, "utf8").trim() };
  } catch {
    return { pss: 0, rss: 0, comm: "?" };
  }
}

const IDLE = {
  shell: ["sh", "-c", "echo ready; sleep 600"],
  python: ["python3", "-c", "print('ready', flush=True); import time; time.sleep(600)"],
  node: ["node", "-e", "console.log('ready'); setTimeout(() => {}, 600000)"],
} as const;

for (const [lang, command] of Object.entries(IDLE)) {
  progress(`memory: ${RUNNING} ${lang} sandboxes running at once`);
  const procs: SandboxProcess[] = [];
  for (let i = 0; i < RUNNING; i++) {
    const p = await sandbox.spawn({ tenantId: `ten_mem${i}`, area: "code", command, limits: { wallMs: 120_000 } });
    await new Promise<void>((ok) => p.stdout.once("data", () => ok()));
    procs.push(p);
  }
  await new Promise((ok) => setTimeout(ok, 500));
  let pss = 0;
  let rss = 0;
  let bwrapPss = 0;
  for (const p of procs)
    for (const pid of tree(p.pid)) {
      const u = usage(pid);
      pss += u.pss;
      rss += u.rss;
      if (u.comm === "bwrap") bwrapPss += u.pss;
    }
  emit("memory_per_sandbox", {
    language: lang,
    running: RUNNING,
    pss_mb: round(pss / 1024 / RUNNING),
    rss_mb: round(rss / 1024 / RUNNING),
    bwrap_pss_mb: round(bwrapPss / 1024 / RUNNING, 2),
  });
  for (const p of procs) p.kill();
  await Promise.all(procs.map((p) => p.exited));
}
progress("done");
