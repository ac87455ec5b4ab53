/**
 * Kernel benchmark. One JSON object per line on stdout, progress on stderr.
 *
 *     node bench/kernel.ts [--store sqlite|postgres] [--quick] [--only <sections>] [--dir <tmp root>]
 *
 * Every measurement opens a fresh database: for SQLite a new file in a temp dir (WAL, synchronous=FULL,
 * the store's defaults); for Postgres a new schema with a random name on the server of DATABASE_URL,
 * dropped after. The store's own limits (one durable commit, batched inserts; for Postgres also
 * single-row insert transactions from 1 and 16 connections) are measured in the same run on the same
 * kind of database, and the kernel's figures are also printed as ratios to them. On Postgres the run
 * adds worker processes sharing one database, the lag of cron schedules, and the same workload on
 * DBOS Transact side by side, and the 3-step workflow on the peers (DBOS, Restate, Vercel Workflow). See bench/README.md for what each figure means.
 *
 * One file a section in bench/kernel/ (latency, throughput, resume, timers, processes, schedule,
 * vs-dbos, limits); config.ts reads the arguments, stores.ts opens the stores, harness.ts is what the
 * sections share (output, the instrumented store, a kernel per measurement), ratios.ts the figures
 * compared to the store's own limits.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { dbosVersion } from "./dbos.ts";
import { peerVersions } from "./peers/peer.ts";
import { PEERS, QUICK, STORE_KIND, argv, only, type Section } from "./kernel/config.ts";
import { storeFactory } from "./kernel/stores.ts";
import { emit, kernelErrors, note, round } from "./kernel/harness.ts";
import { latency } from "./kernel/latency.ts";
import { throughput } from "./kernel/throughput.ts";
import { resume } from "./kernel/resume.ts";
import { background, timers } from "./kernel/timers.ts";
import { processes } from "./kernel/processes.ts";
import { schedule } from "./kernel/schedule.ts";
import { dbos } from "./kernel/vs-dbos.ts";
import { peers } from "./kernel/vs-peers.ts";
import { limits } from "./kernel/limits.ts";
import { ratios, type Figures } from "./kernel/ratios.ts";

// ---- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const base = argv.dir ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(join(base, "agentd-bench-"));
  const factory = await storeFactory(STORE_KIND, root);
  let disposed: Promise<void> | null = null;
  const cleanup = () => (disposed ??= factory.dispose());
  process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));
  const started = performance.now();
  emit("meta", {
    quick: QUICK,
    sections: [...only],
    node: process.version,
    platform: `${process.platform} ${release()}`,
    cpu: cpus()[0]?.model ?? "?",
    cpus: cpus().length,
    mem_gb: round(totalmem() / 2 ** 30, 1),
    loadavg: loadavg().map((x) => round(x, 2)),
    ...factory.describe(),
    ...(only.has("dbos") || only.has("peers")
      ? { dbos_version: dbosVersion() ?? "not installed (npm --prefix bench install)" }
      : {}),
    ...(only.has("peers") ? { peers: PEERS, peer_versions: peerVersions() } : {}),
  });
  const figures: Figures = {};
  const failed: Section[] = [];
  try {
    const sections: [Section, () => Promise<void>][] = [
      ["limits", () => limits(factory, figures)],
      ["latency", () => latency(factory, figures)],
      ["throughput", () => throughput(factory, figures)],
      ["processes", () => processes(factory, figures)],
      ["resume", () => resume(factory)],
      ["timer", () => timers(factory)],
      ["background", () => background(factory)],
      ["schedule", () => schedule(factory, figures)],
      ["dbos", () => dbos(factory, figures)],
      ["peers", () => peers(factory, figures)],
    ];
    for (const [name, run] of sections) {
      if (!only.has(name)) continue;
      try {
        await run();
      } catch (e) {
        // One failing section (a kernel bug, a missing dependency) does not lose the others' figures.
        failed.push(name);
        emit("error", { section: name, error: e instanceof Error ? e.message : String(e) });
        note(`SECTION FAILED (${name}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }
    ratios(figures);
  } finally {
    await cleanup();
  }
  const secs = (performance.now() - started) / 1000;
  emit("done", {
    seconds: secs,
    kernel_errors: kernelErrors.length,
    failed_sections: failed,
    loadavg: loadavg().map((x) => round(x, 2)),
  });
  note(
    `done in ${secs.toFixed(1)} s${kernelErrors.length ? `, ${kernelErrors.length} kernel errors` : ""}${failed.length ? `; failed: ${failed.join(", ")}` : ""}`,
  );
  if (failed.length) process.exitCode = 1;
}

await main();
