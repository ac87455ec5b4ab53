/**
 * A schedule that fires every second, with four worker processes racing for each tick for 30 s:
 * every tick starts exactly one run (key `schedule:<id>:<tick ISO time>`), none twice, none missed.
 * Then all four workers are SIGKILLed, stay down for 10 s and are restarted: the catch-up policy
 * ("latest") starts exactly one run for the missed window and records every other missed tick as
 * skipped, with its reason; then the schedule goes on on time. Prints the lag (firedAt - tickAt).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { Kernel } from "../../src/index.ts";
import {
  claimLog,
  killAll,
  noPg,
  percentile,
  pgUrl,
  type Proc,
  renewalStats,
  sleep,
  spawnWorker,
  tempSchema,
  until,
  within,
} from "./cluster.ts";
import { ALL_WORKFLOWS } from "./procs/workflows.ts";

const ON_TIME_S = 30;
const DOWN_MS = 10_000;
const AFTER_S = 5;
const LEASE_MS = 1_500;
const WORKERS = ["w1", "w2", "w3", "w4"];
const ID = "every-second";
const iso = (t: number) => new Date(t).toISOString();

test("a schedule every second with 4 worker processes: one run per tick for 30 s; all workers down 10 s, then catch-up 'latest' runs one tick and records the rest skipped", {
  skip: noPg,
  timeout: 150_000,
}, async (t) => {
  const url = pgUrl as string;
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "agentd-schedule-"));
  const db = await tempSchema(url);
  const client = new Kernel({ store: db.store, workflows: ALL_WORKFLOWS, worker: false });
  const procs: Proc[] = [];
  let lives = 0;
  const startAll = async () => {
    const ps = WORKERS.map((id) =>
      spawnWorker({
        url,
        schema: db.schema,
        id,
        log: join(dir, `log-${id}-${++lives}`),
        leaseMs: LEASE_MS,
        pollMs: 250,
      }),
    );
    procs.push(...ps);
    await within(Promise.all(ps.map((p) => p.ready)), 60_000, "4 workers to start");
    return ps;
  };
  try {
    let workers = await startAll();
    // Created early in a second, so that every worker has seen it (poll 250 ms) before its first tick.
    while (Date.now() % 1_000 > 100) await sleep(5);
    const created = await client.schedules.create({
      id: ID,
      workflow: "cluster.tick",
      cron: "* * * * * *",
      overlap: "allow",
      catchUp: "latest",
    });
    const first = created.nextFireTimes[0] as number;
    await sleep(first + ON_TIME_S * 1_000 - 500 - Date.now());

    // ---- all workers die at once, and stay down ----
    for (const p of workers) assert.equal(p.exited, false, `worker ${p.id} died on its own: ${p.stderr.join("")}`);
    const killSentAt = Date.now();
    await Promise.all(workers.map((p) => p.kill("SIGKILL")));
    await sleep(300);
    const beforeKill = await client.schedules.ticks(ID, 1_000);
    const lastBefore = Math.max(...beforeKill.map((x) => x.tickAt));
    const orphans = await db.store.query<{ id: string }>("SELECT id FROM runs WHERE status = 'running'");
    await sleep(killSentAt + DOWN_MS - Date.now());
    const restartAt = Date.now();
    workers = await startAll();
    const upAt = Date.now();
    await sleep(AFTER_S * 1_000);

    // ---- no more ticks; the runs end (orphans of the kill are taken over), then the workers stop ----
    await client.schedules.pause(ID);
    await until(
      async () => (await client.listRuns({ status: ["pending", "running", "suspended"], limit: 10 })).length === 0,
      "every run to end",
      30_000,
    );
    const renewals = await renewalStats(workers);
    for (const p of workers) {
      assert.equal(p.exited, false, `worker ${p.id} died on its own: ${p.stderr.join("")}`);
      assert.equal((await p.stop()).code, 0, `worker ${p.id} exited badly: ${p.stderr.join("")}`);
    }

    // ---- every tick between the first and the last, handled exactly once ----
    const ticks = (await client.schedules.ticks(ID, 10_000)).sort((a, b) => a.tickAt - b.tickAt);
    const last = ticks.at(-1)?.tickAt as number;
    assert.equal(ticks[0]?.tickAt, first, `the first tick handled is the first after creation (${iso(first)})`);
    const gaps = ticks.filter((x, i) => x.tickAt !== first + i * 1_000).slice(0, 5);
    assert.deepEqual(
      gaps.map((x) => iso(x.tickAt)),
      [],
      `ticks from ${iso(first)} to ${iso(last)} are contiguous, one record each (${ticks.length} records)`,
    );
    assert.ok(last >= upAt + (AFTER_S - 2) * 1_000, `the schedule went on after the restart (last tick ${iso(last)})`);

    // The window missed while every worker was down: handled in one go by the first worker up.
    const missed = ticks.filter(
      (x) =>
        x.tickAt > lastBefore &&
        x.firedAt >= restartAt &&
        x.firedAt === ticks.find((y) => y.tickAt === lastBefore + 1_000)?.firedAt,
    );
    const latest = missed.at(-1);
    assert.ok(
      latest && missed[0]?.tickAt === lastBefore + 1_000,
      `the first tick after the kill (${iso(lastBefore + 1_000)}) was handled at the restart`,
    );
    assert.equal(latest.status, "started", "catch-up latest: the latest missed tick runs");
    assert.ok(
      latest.tickAt <= latest.firedAt && latest.firedAt - latest.tickAt < 1_000,
      "and it is the latest tick due when the first worker came up",
    );
    const skipped = missed.slice(0, -1);
    for (const x of skipped) {
      assert.equal(x.status, "skipped", `missed tick ${iso(x.tickAt)}`);
      assert.equal(x.runId, null);
      assert.equal(
        x.reason,
        `missed: no worker ran the schedule at ${iso(x.tickAt)}, handled at ${iso(x.firedAt)} (catch-up policy: latest)`,
      );
    }
    assert.equal(
      skipped.length,
      (latest.tickAt - lastBefore) / 1_000 - 1,
      "every tick between the last one before the kill and the latest is recorded skipped",
    );
    assert.ok(
      skipped.length >= DOWN_MS / 1_000 - 1 && skipped.length <= DOWN_MS / 1_000 + 4,
      `about ${DOWN_MS / 1_000} ticks missed while the workers were down, got ${skipped.length}`,
    );
    // Every other tick was started on time, by one worker, before the next tick.
    const onTime = ticks.filter((x) => !missed.includes(x));
    const late = onTime.filter((x) => x.status !== "started" || x.runId === null || x.firedAt - x.tickAt >= 1_000);
    assert.deepEqual(
      late.map((x) => `${iso(x.tickAt)} ${x.status} lag ${x.firedAt - x.tickAt} ms: ${x.reason}`),
      [],
      "ticks while workers were up: started within the second",
    );
    assert.ok(
      onTime.filter((x) => x.tickAt <= lastBefore).length >= ON_TIME_S - 2,
      `~${ON_TIME_S} ticks before the kill`,
    );

    // ---- one run per started tick, with the tick's key; nothing else ----
    const started = ticks.filter((x) => x.status === "started");
    const runs = (await client.listRuns({ workflow: "cluster.tick", limit: 10_000 })).filter(
      (r) => r.workflow === "cluster.tick",
    );
    assert.equal(
      runs.length,
      started.length,
      `one run per started tick: ${runs.length} runs, ${started.length} started ticks`,
    );
    assert.equal(new Set(runs.map((r) => r.key)).size, runs.length, "no two runs for one tick");
    const byId = new Map(runs.map((r) => [r.id, r]));
    for (const x of started) {
      const r = byId.get(x.runId as string);
      assert.equal(r?.key, `schedule:${ID}:${iso(x.tickAt)}`, `the run of tick ${iso(x.tickAt)}`);
      assert.equal(
        r?.status,
        "completed",
        `the run of tick ${iso(x.tickAt)} completed (${r?.status}: ${JSON.stringify(r?.error)})`,
      );
    }
    const takenOver = (await claimLog(db.store)).filter((c) => c.old_status === "running");
    for (const c of takenOver)
      assert.ok(
        c.claimed_at >= (c.old_lease_expires_at as number),
        `run ${c.run_id} taken over before its lease expired`,
      );

    const lag = onTime.map((x) => x.firedAt - x.tickAt);
    const byWorker: Record<string, number> = {};
    for (const r of runs) {
      const w = (r.output as { w: string }).w;
      byWorker[w] = (byWorker[w] ?? 0) + 1;
    }
    const figures = {
      ticks: ticks.length,
      started: started.length,
      skipped: ticks.filter((x) => x.status === "skipped").length,
      runs: runs.length,
      onTimeTicksBeforeKill: onTime.filter((x) => x.tickAt <= lastBefore).length,
      onTimeTicksAfterRestart: onTime.filter((x) => x.tickAt > lastBefore).length,
      downMs: restartAt - killSentAt,
      workersUpAfterMs: upAt - killSentAt,
      missedWindow: {
        from: iso(lastBefore + 1_000),
        to: iso(latest.tickAt),
        skipped: skipped.length,
        started: 1,
        handledAfterRestartMs: latest.firedAt - restartAt,
      },
      lagMs: { p50: percentile(lag, 50), p99: percentile(lag, 99), max: Math.max(...lag) },
      catchUpLagMs: latest.firedAt - latest.tickAt,
      runsOrphanedByKill: orphans.length,
      takeovers: takenOver.length,
      runsByWorker: byWorker,
      renewals,
      totalMs: Math.round(performance.now() - t0),
    };
    console.log(`cluster schedule figures: ${JSON.stringify(figures)}`);
    t.diagnostic(JSON.stringify(figures));
  } finally {
    await killAll(procs);
    await client.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
