/**
 * Start time and memory of two agentd trees side by side (before / after a change), alternately, so
 * load from elsewhere on the machine weighs on both alike. One JSON object per line on stdout.
 *
 *     node bench/start-ab.ts --a /path/to/before --b . [--rounds 8] [--tenants 1000]
 *
 *  - start_to_ready_ms: spawn of `node <its first line's flags> <tree>/packages/agentd/src/main.js start` (main.ts in a tree without it; SQLite, fresh data
 *    folder, no model keys, AGENTD_PORT=0) to its `agentd ready at` line; the CPU time it used by then
 *    (user + system, /proc: less moved by other load than the wall time); RSS at ready.
 *  - idle_rss_mb (with --tenants N): the same process after N POST /v1/tenants with a heartbeat
 *    (every 30 minutes) and 5 s idle; no forced GC (the same for both trees).
 * A tree is a checkout (`git archive <commit> packages | tar -x`, with node_modules linked to this one's).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string", default: "." },
    rounds: { type: "string", default: "8" },
    tenants: { type: "string", default: "0" },
  },
});
if (!values.a) throw new Error("--a <tree> is needed (the tree to compare with, e.g. a checkout of main)");
const trees = { a: resolve(values.a), b: resolve(values.b as string) };
const ADMIN = "bench-admin-token-0123456789";
const out = (o: object) => process.stdout.write(`${JSON.stringify({ bench: "start-ab", ...o })}\n`);
const p50 = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)] ?? 0;
const rssMb = (pid: number) =>
  Math.round(Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 102.4) / 10;
/** CPU time the process used so far (user + system, ms): less moved by other load than wall time. */
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(f[11]) + Number(f[12])) * 10; // utime, stime in clock ticks of 10 ms
};
/** The node flags of a tree's bin (`#!/usr/bin/env -S node <flags>`), as `npm start` gives them. */
const binFlags = (main: string) =>
  /^#!\/usr\/bin\/env -S node (.*)$/.exec(readFileSync(main, "utf8").split("\n")[0] ?? "")?.[1]?.split(" ") ?? [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  readyMs: number;
  readyCpuMs: number;
  readyRss: number;
  idleRss: number | null;
}

async function once(tree: string, tenants: number): Promise<Run> {
  const data = mkdtempSync(join(tmpdir(), "agentd-start-ab-"));
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: "", AGENTD_PORT: "0", AGENTD_HOST: "127.0.0.1" };
  for (const k of Object.keys(env)) if (/^(OPENAI_|AGENTD_MODEL|AGENTD_DATA|AGENTD_PG)/.test(k)) delete env[k];
  env.AGENTD_ADMIN_TOKEN = ADMIN;
  const t0 = performance.now();
  const main = join(tree, "packages/agentd/src/main.js");
  const entry = existsSync(main) ? main : join(tree, "packages/agentd/src/main.ts");
  const child = spawn(process.execPath, [...binFlags(entry), entry, "start", "--data", data], {
    env,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const exited = new Promise((r) => child.once("exit", r));
  try {
    const url = await new Promise<string>((ok, fail) => {
      let text = "";
      child.stdout.on("data", (d: Buffer) => {
        text += d;
        const m = /^agentd ready at (\S+)/m.exec(text);
        if (m) ok(m[1] as string);
      });
      child.once("exit", (code) => fail(new Error(`agentd start exited (${code}): ${text}`)));
    });
    const readyMs = performance.now() - t0;
    const readyCpuMs = cpuMs(child.pid as number);
    const readyRss = rssMb(child.pid as number);
    let idleRss: number | null = null;
    if (tenants > 0) {
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < tenants) {
            const res = await fetch(`${url}/v1/tenants`, {
              method: "POST",
              headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
              body: JSON.stringify({ name: `t-${next++}`, settings: { heartbeat: "*/30 * * * *" } }),
            });
            if (res.status !== 201) throw new Error(`POST /v1/tenants: ${res.status}`);
            await res.arrayBuffer();
          }
        }),
      );
      await sleep(5_000);
      idleRss = rssMb(child.pid as number);
    }
    return { readyMs, readyCpuMs, readyRss, idleRss };
  } finally {
    child.kill("SIGTERM");
    await exited;
    rmSync(data, { recursive: true, force: true });
  }
}

const rounds = Number(values.rounds);
const tenants = Number(values.tenants);
const got: Record<"a" | "b", Run[]> = { a: [], b: [] };
out({ metric: "meta", trees, rounds, tenants, node: process.version, loadavg: loadavg() });
for (let i = 0; i < rounds; i++)
  for (const k of i % 2 ? (["b", "a"] as const) : (["a", "b"] as const)) got[k].push(await once(trees[k], tenants));
for (const k of ["a", "b"] as const) {
  const r = got[k];
  out({
    metric: "start_to_ready_ms",
    tree: k,
    path: trees[k],
    p50: Math.round(p50(r.map((x) => x.readyMs))),
    runs: r.map((x) => Math.round(x.readyMs)),
    cpu_ms_p50: p50(r.map((x) => x.readyCpuMs)),
    cpu_ms: r.map((x) => x.readyCpuMs),
    rss_at_ready_mb_p50: p50(r.map((x) => x.readyRss)),
    ...(tenants > 0 ? { idle_rss_mb_p50: p50(r.map((x) => x.idleRss as number)), tenants } : {}),
  });
}
const ratio = (f: (x: Run) => number) => Math.round((p50(got.b.map(f)) / p50(got.a.map(f))) * 100) / 100;
out({
  metric: "ratio_b_over_a",
  start_to_ready: ratio((x) => x.readyMs),
  cpu_to_ready: ratio((x) => x.readyCpuMs),
  rss_at_ready: ratio((x) => x.readyRss),
  ...(tenants > 0 ? { idle_rss: ratio((x) => x.idleRss as number) } : {}),
  loadavg: loadavg(),
});
