import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, test } from "node:test";
import { metrics } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import pg from "pg";
import { FatalError, type LogRecord, openSqliteStore, type Store, workflow } from "../src/index.ts";
import type { PostgresStore } from "../src/store/postgres/index.ts";
import { migrate } from "../src/store/sqlite/schema.ts";
import { type Backend, BACKENDS, pgUrl } from "./backends.ts";
import { fakeKernel, tempStore, until } from "./helpers.ts";

// Metrics to memory for this file (its own process), read when we flush.
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

async function removedMetric(): Promise<Record<string, number>> {
  await reader.forceFlush();
  const out: Record<string, number> = {};
  for (const rm of exporter.getMetrics())
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics)
        if (m.descriptor.name === "kernel.retention.removed")
          for (const d of m.dataPoints)
            out[String(d.attributes["kernel.status"] ?? d.attributes["kernel.kind"])] = Number(d.value);
  return out;
}

const DAY = 86_400_000;
/** Lease renewals (a third of the lease) would otherwise fire thousands of times while the fake clock crosses days. */
const LONG_LEASE = { leaseMs: DAY };

const ok = workflow("ret.ok", async (ctx, n: number) => {
  const v = await ctx.step("one", ({ publish }) => {
    publish({ n });
    return n;
  });
  await ctx.waitForEvent("go", { timeout: "1s" });
  return v;
});
const bad = workflow("ret.bad", async (ctx) =>
  ctx.step("boom", () => {
    throw new FatalError("no");
  }),
);
const slow = workflow("ret.slow", async (ctx) => ctx.sleep("long", "30d"));
const keep = workflow("ret.keep", async (ctx) => ctx.step("one", () => 1));
const other = workflow("ret.other", async (ctx) => ctx.step("one", () => 1));

/** Rows a run still has in each table, read underneath the store. */
async function rowsOf(backend: Backend, store: Store, where: string, runId: string): Promise<Record<string, number>> {
  const tables = { runs: "id", entries: "run_id", events: "run_id", stream_chunks: "run_id", schedule_ticks: "run_id" };
  const out: Record<string, number> = {};
  if (backend.name === "postgres") {
    for (const [t, col] of Object.entries(tables))
      out[t] = Number(
        (
          await (store as PostgresStore).query<{ n: string }>(`SELECT count(*) AS n FROM ${t} WHERE ${col} = $1`, [
            runId,
          ])
        )[0]?.n,
      );
    return out;
  }
  const db = new DatabaseSync(where, { readOnly: true });
  for (const [t, col] of Object.entries(tables))
    out[t] = Number((db.prepare(`SELECT count(*) AS n FROM ${t} WHERE ${col} = ?`).get(runId) as { n: number }).n);
  db.close();
  return out;
}

/** Completed runs written straight into the tables, ended long ago (`n` of them, 3 journal entries each). */
async function oldRuns(backend: Backend, store: Store, where: string, n: number): Promise<void> {
  const run = `INSERT INTO runs (id, namespace, workflow, status, input, output, epoch, created_at, updated_at, completed_at) VALUES`;
  const entry = "INSERT INTO entries (run_id, seq, kind, name, status, attempt, value, started_at, updated_at) VALUES";
  if (backend.name === "postgres") {
    const q = (store as PostgresStore).query.bind(store);
    await q(
      `${run.replace("VALUES", "")} SELECT 'old-' || g, 'default', 'ret.ok', 'completed', '1', '1', 1, g, g, g FROM generate_series(1, $1) g`,
      [n],
    );
    await q(
      `${entry.replace("VALUES", "")} SELECT 'old-' || g, s, 'step', 's', 'completed', 1, '1', g, g FROM generate_series(1, $1) g, generate_series(1, 3) s`,
      [n],
    );
    return;
  }
  const db = new DatabaseSync(where);
  db.exec("BEGIN IMMEDIATE");
  const r = db.prepare(`${run} (?, 'default', 'ret.ok', 'completed', '1', '1', 1, ?, ?, ?)`);
  const e = db.prepare(`${entry} (?, ?, 'step', 's', 'completed', 1, '1', ?, ?)`);
  for (let g = 1; g <= n; g++) {
    r.run(`old-${g}`, g, g, g);
    for (let s = 1; s <= 3; s++) e.run(`old-${g}`, s, g, g);
  }
  db.exec("COMMIT");
  db.close();
}

for (const backend of BACKENDS) {
  describe(`retention (${backend.name})`, () => {
    test("ended runs go with their journal, events, stream and tick records after their age; failed ones stay 30 days; a key works until then", async (t) => {
      const { store, where } = await tempStore(t, backend);
      const logs: LogRecord[] = [];
      // Passes only when the test runs one: the worker's own would come every 60 days of this clock.
      const { kernel, clock } = fakeKernel(t, store, [ok, bad, slow], {
        logger: (r) => logs.push(r),
        retention: { every: "60d" },
        worker: LONG_LEASE,
      });
      const sched = await kernel.schedules.create({
        id: "every-minute",
        workflow: ok.name,
        cron: "* * * * *",
        input: 7,
      });
      await clock.advance(60_000);
      await until(async () => (await kernel.schedules.ticks(sched.id, 10)).some((x) => x.runId), "the schedule fired");
      const ticked = (await kernel.schedules.ticks(sched.id, 10)).find((x) => x.runId);
      assert.ok(ticked?.runId, "the schedule started a run");
      await kernel.schedules.pause(sched.id);
      const keyed = await kernel.start(ok, 1, { key: "k1" });
      await kernel.sendEvent(keyed.id, "go", { x: 1 });
      assert.equal(await keyed.result(), 1);
      await clock.advance(1_000);
      assert.equal(await kernel.result(ticked.runId), 7);
      const failed = await kernel.start(bad, null);
      await assert.rejects(failed.result());
      const cancelled = await kernel.start(slow, null);
      await clock.advance(1_000);
      await kernel.cancel(cancelled.id);
      const before = await rowsOf(backend, store, where, keyed.id);
      assert.ok((before.entries ?? 0) > 0 && before.events === 1 && before.stream_chunks === 1, JSON.stringify(before));
      assert.equal((await rowsOf(backend, store, where, ticked.runId)).schedule_ticks, 1);

      await clock.advance(6 * DAY);
      assert.deepEqual(
        (await kernel.retention?.run())?.runs,
        { completed: 0, cancelled: 0, failed: 0 },
        "nothing is 7 days old yet",
      );
      const again = await kernel.start(ok, 2, { key: "k1" });
      assert.deepEqual([again.id, again.created], [keyed.id, false], "within the window the key returns the first run");

      await clock.advance(1 * DAY + 60_000);
      const report = await kernel.retention?.run();
      assert.deepEqual(report?.runs, { completed: 2, cancelled: 1, failed: 0 });
      for (const id of [keyed.id, ticked.runId, cancelled.id])
        assert.deepEqual(
          await rowsOf(backend, store, where, id),
          { runs: 0, entries: 0, events: 0, stream_chunks: 0, schedule_ticks: 0 },
          id,
        );
      assert.equal((await kernel.getRun(failed.id))?.status, "failed", "the dead-letter list keeps failed runs longer");
      assert.deepEqual(
        (await kernel.failedRuns()).map((r) => r.id),
        [failed.id],
      );
      const fresh = await kernel.start(ok, 3, { key: "k1" });
      assert.ok(fresh.created && fresh.id !== keyed.id, "after the window the key starts a new run");

      const line = logs.find((l) => l.msg === "retention removed old runs");
      assert.deepEqual(line?.runs, { completed: 2, cancelled: 1, failed: 0 }, "the operator sees what went");
      const counted = await removedMetric();
      assert.ok((counted.completed ?? 0) >= 2 && (counted.cancelled ?? 0) >= 1, JSON.stringify(counted));

      await clock.advance(23 * DAY);
      assert.equal((await kernel.retention?.run())?.runs.failed, 1);
      assert.equal(await kernel.getRun(failed.id), null);
    });

    test("policies by workflow and by namespace, and kept forever", async (t) => {
      const { store } = await tempStore(t, backend);
      const { kernel, clock } = fakeKernel(t, store, [keep, other], {
        retention: {
          every: "60d",
          completed: "1d",
          workflows: { "ret.keep": { completed: "forever" } },
          namespaces: { slow: { completed: "3d" } },
        },
        worker: LONG_LEASE,
      });
      const ids: Record<string, string> = {};
      // ret.keep's own policy wins over its namespace's; in namespace "slow" the other runs keep 3 days.
      for (const [name, wf, ns] of [
        ["keep", keep, "default"],
        ["keepSlow", keep, "slow"],
        ["other", other, "default"],
        ["otherSlow", other, "slow"],
      ] as const) {
        const h = await kernel.start(wf as typeof keep, null, { namespace: ns });
        await kernel.result(h.id);
        ids[name] = h.id;
      }
      const left = async () => {
        const out: string[] = [];
        for (const [name, id] of Object.entries(ids)) if (await kernel.getRun(id)) out.push(name);
        return out;
      };
      await clock.advance(2 * DAY);
      await kernel.retention?.run();
      assert.deepEqual(await left(), ["keep", "keepSlow", "otherSlow"]);
      await clock.advance(2 * DAY);
      await kernel.retention?.run();
      assert.deepEqual(await left(), ["keep", "keepSlow"]);
    });

    test("the worker runs passes on the kernel's clock", async (t) => {
      const { store } = await tempStore(t, backend);
      const { kernel, clock } = fakeKernel(t, store, [keep], { retention: { every: "6h" }, worker: LONG_LEASE });
      const h = await kernel.start(keep, null);
      await kernel.result(h.id);
      // Passes start when the clock says so; each next one is armed when the last has ended.
      const t0 = clock.now();
      while (clock.now() - t0 < 9 * DAY && (await kernel.getRun(h.id))) {
        await clock.advance(6 * 3_600_000);
        await kernel.retention?.current;
      }
      assert.equal(await kernel.getRun(h.id), null, "a pass after 7 days deleted it");
      assert.ok(clock.now() - t0 > 7 * DAY, "not before");
    });

    test("a pass deletes in small batches while runs go on: a run started during a pass of 3000 ends before it", async (t) => {
      const { store, where } = await tempStore(t, backend);
      await oldRuns(backend, store, where, 3_000);
      const three = workflow("ret.three", async (ctx) => {
        for (let i = 0; i < 3; i++) await ctx.step(`s${i}`, () => i);
        return "done";
      });
      const { kernel } = fakeKernel(t, store, [three], { retention: { batchSize: 50 } });
      const order: string[] = [];
      const pass = kernel.retention?.run().then((r) => (order.push("pass"), r));
      const run = kernel
        .start(three, null)
        .then((h) => h.result())
        .then(() => order.push("run"));
      const [report] = await Promise.all([pass, run]);
      assert.equal(report?.runs.completed, 3_000);
      assert.deepEqual(order, ["run", "pass"]);
    });
  });
}

test("postgres: a pass skips a run another transaction holds instead of waiting for it", {
  skip: pgUrl ? false : "no Postgres reachable",
}, async (t) => {
  const { store, where } = await tempStore(t, BACKENDS.find((b) => b.name === "postgres") as Backend);
  await oldRuns(BACKENDS[1] as Backend, store, where, 10);
  const schema = (await (store as PostgresStore).query<{ s: string }>("SELECT current_schema() AS s"))[0]?.s;
  const c = new pg.Client({ connectionString: pgUrl as string, options: `-c search_path=${schema}` });
  await c.connect();
  t.after(() => c.end());
  await c.query("BEGIN");
  await c.query("SELECT 1 FROM runs WHERE id = 'old-3' FOR UPDATE");
  const scope = { workflow: null, namespace: null, exceptWorkflows: [], exceptNamespaces: [] };
  const n = await store.deleteEndedRuns({ ...scope, status: "completed", endedBefore: Date.now(), limit: 100 });
  assert.equal(n, 9, "all but the held run, at once");
  await c.query("COMMIT");
  assert.equal(
    await store.deleteEndedRuns({ ...scope, status: "completed", endedBefore: Date.now(), limit: 100 }),
    1,
    "taken on the next pass",
  );
});

test("sqlite: space freed by retention goes back to the file system (auto_vacuum = INCREMENTAL)", async (t) => {
  const { store, where } = await tempStore(t);
  const big = workflow("ret.big", async (ctx) => ctx.step("blob", () => "x".repeat(50_000)));
  const { kernel, clock } = fakeKernel(t, store, [big], { retention: { every: "60d" }, worker: LONG_LEASE });
  for (let i = 0; i < 60; i++) await (await kernel.start(big, null)).result();
  const pages = () => {
    const db = new DatabaseSync(where, { readOnly: true });
    const n = Number((db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count);
    db.close();
    return n;
  };
  const full = pages();
  await clock.advance(8 * DAY);
  const report = await kernel.retention?.run();
  assert.equal(report?.runs.completed, 60);
  assert.ok(
    (report?.reclaimedPages ?? 0) > 0 && pages() < full / 2,
    `${pages()} pages of ${full} left, ${report?.reclaimedPages} reclaimed`,
  );
});

test("sqlite: a file made before retention is converted to auto_vacuum = INCREMENTAL on open, its runs kept", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-vacuum-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "old.db");
  const db = new DatabaseSync(path);
  migrate(db, path, 3);
  db.prepare(
    "INSERT INTO runs (id, namespace, workflow, status, epoch, created_at, updated_at) VALUES ('r1', 'default', 'w', 'completed', 1, 1, 1)",
  ).run();
  assert.equal((db.prepare("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum, 0);
  db.close();
  const store = await openSqliteStore(path);
  t.after(() => store.close());
  assert.equal((await store.getRun("r1"))?.status, "completed");
  const check = new DatabaseSync(path, { readOnly: true });
  assert.equal((check.prepare("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum, 2);
  check.close();
});
